import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ValidationError } from '../../src/core/errors.js';

/**
 * Checkpoint files for PPO and DQN: `state.json` (scalars, RNG, config, index) and
 * `arrays.bin` (float32 / uint8 arrays back to back, little-endian). Float32 data round-trips
 * bit for bit; JSON numbers are float64 and round-trip exactly too. The caller writes into a
 * temp directory that replaceDirAtomic renames into place.
 */
export type ArrayValue = Float32Array | Uint8Array | Int32Array;

interface Entry {
  name: string;
  dtype: 'float32' | 'uint8' | 'int32';
  offset: number;
  length: number;
}

export function writeCheckpointFiles(dir: string, state: Record<string, unknown>, arrays: Record<string, ArrayValue>): void {
  const entries: Entry[] = [];
  let offset = 0;
  for (const [name, a] of Object.entries(arrays)) {
    const dtype = a instanceof Float32Array ? 'float32' : a instanceof Int32Array ? 'int32' : 'uint8';
    // Align each array to 4 bytes so it can be viewed in place.
    offset = Math.ceil(offset / 4) * 4;
    entries.push({ name, dtype, offset, length: a.length });
    offset += a.byteLength;
  }
  const buf = new Uint8Array(Math.ceil(offset / 4) * 4);
  entries.forEach((e, i) => {
    const a = Object.values(arrays)[i];
    buf.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), e.offset);
  });
  writeFileSync(path.join(dir, 'arrays.bin'), buf);
  writeFileSync(path.join(dir, 'state.json'), JSON.stringify({ ...state, arrays: entries }) + '\n');
}

export function readCheckpointFiles(dir: string): { state: Record<string, unknown>; arrays: Record<string, ArrayValue> } {
  let state: Record<string, unknown>;
  try {
    state = JSON.parse(readFileSync(path.join(dir, 'state.json'), 'utf8'));
  } catch (err) {
    throw new ValidationError(`${dir}: not a readable checkpoint (state.json): ${(err as Error).message}`, [], { cause: err });
  }
  const raw = readFileSync(path.join(dir, 'arrays.bin'));
  // Copy into a fresh, aligned buffer.
  const bytes = new Uint8Array(raw.byteLength);
  bytes.set(raw);
  const arrays: Record<string, ArrayValue> = {};
  for (const e of state.arrays as Entry[]) {
    if (e.dtype === 'float32') arrays[e.name] = new Float32Array(bytes.buffer, e.offset, e.length).slice();
    else if (e.dtype === 'int32') arrays[e.name] = new Int32Array(bytes.buffer, e.offset, e.length).slice();
    else arrays[e.name] = bytes.slice(e.offset, e.offset + e.length);
  }
  return { state, arrays };
}
