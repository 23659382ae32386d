import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { ValidationError } from '../../src/core/errors.js';
import { renameDurable, verifyCheckpointDir, writeFileDurable, writeManifest, type CheckpointFaults } from './manifest.js';

/**
 * The one learner checkpoint format (SAC, STAC, PPO, DQN): a directory holding `state.json`
 * (scalars, RNG, config, array index), `arrays.bin` (float32 / int32 / uint8 arrays back to back,
 * little-endian, 4-byte aligned) and `manifest.json` (size and sha256 of both). Float32 data
 * round-trips bit for bit; JSON numbers are float64 and round-trip exactly too.
 *
 * The directory is written under a temp name and renamed into place once complete, so `dir`
 * either does not exist or is a whole checkpoint; reading verifies the manifest first.
 */
export type ArrayValue = Float32Array | Uint8Array | Int32Array;

export const STATE_FILE = 'state.json';
export const ARRAYS_FILE = 'arrays.bin';

interface Entry {
  name: string;
  dtype: 'float32' | 'uint8' | 'int32';
  offset: number;
  length: number;
}

export function writeCheckpointFiles(dir: string, state: Record<string, unknown>, arrays: Record<string, ArrayValue>, faults?: CheckpointFaults): void {
  if (existsSync(dir)) throw new ValidationError(`${dir}: already exists; a checkpoint is never written over another (controllers/checkpoint/store.ts keeps generations)`);
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
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  mkdirSync(tmp, { recursive: true });
  try {
    writeFileDurable(path.join(tmp, ARRAYS_FILE), buf, faults);
    writeFileDurable(path.join(tmp, STATE_FILE), JSON.stringify({ ...state, arrays: entries }) + '\n', faults);
    writeManifest(tmp, [ARRAYS_FILE, STATE_FILE], faults);
    renameDurable(tmp, dir, faults);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

export function readCheckpointFiles(dir: string): { state: Record<string, unknown>; arrays: Record<string, ArrayValue> } {
  verifyCheckpointDir(dir);
  const stateFile = path.join(dir, STATE_FILE);
  let state: Record<string, unknown>;
  try {
    state = JSON.parse(readFileSync(stateFile, 'utf8'));
  } catch (err) {
    throw new ValidationError(`${stateFile}: not readable JSON (${(err as Error).message})`, [], { cause: err });
  }
  const raw = readFileSync(path.join(dir, ARRAYS_FILE));
  // Copy into a fresh, aligned buffer.
  const bytes = new Uint8Array(raw.byteLength);
  bytes.set(raw);
  const arrays: Record<string, ArrayValue> = {};
  for (const e of state.arrays as Entry[]) {
    const width = e.dtype === 'uint8' ? 1 : 4;
    if (e.offset + e.length * width > bytes.byteLength) throw new ValidationError(`${path.join(dir, ARRAYS_FILE)}: array "${e.name}" runs past the end of the file`);
    if (e.dtype === 'float32') arrays[e.name] = new Float32Array(bytes.buffer, e.offset, e.length).slice();
    else if (e.dtype === 'int32') arrays[e.name] = new Int32Array(bytes.buffer, e.offset, e.length).slice();
    else arrays[e.name] = bytes.slice(e.offset, e.offset + e.length);
  }
  return { state, arrays };
}
