import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ValidationError } from '../../src/core/errors.js';

/**
 * The manifest that makes a directory a checkpoint: `manifest.json`, written last, lists every
 * file with its size and sha256. A directory without a readable manifest, or with a file whose
 * size or hash differs, is not a checkpoint. A listed `sub/manifest.json` covers the files of
 * `sub/` (its hash chains them), so nothing is hashed twice.
 */
export const MANIFEST_FILE = 'manifest.json';
export const CHECKPOINT_FORMAT = 'embody.checkpoint/1';

const ManifestSchema = z.object({
  format: z.literal(CHECKPOINT_FORMAT),
  files: z.array(z.object({ path: z.string().min(1), bytes: z.number().int().nonnegative(), sha256: z.string().regex(/^[0-9a-f]{64}$/) })),
});
export type Manifest = z.infer<typeof ManifestSchema>;

/**
 * Test hook for fault injection: called at every write (when half of the bytes are on disk, not
 * yet synced) and before every rename and removal of a checkpoint. A test kills the process there.
 */
export interface CheckpointFaults {
  onStep?(step: string): void;
}

export const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** Write `data` to a new file and fsync it; `faults.onStep` fires with half of it written. */
export function writeFileDurable(file: string, data: string | Uint8Array, faults?: CheckpointFaults): void {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  const fd = openSync(file, 'w');
  try {
    const half = bytes.byteLength >> 1;
    writeAll(fd, bytes.subarray(0, half));
    faults?.onStep?.(`write ${path.basename(file)}`);
    writeAll(fd, bytes.subarray(half));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  for (let off = 0; off < bytes.byteLength; ) off += writeSync(fd, bytes, off, bytes.byteLength - off);
}

/** Make a rename or a new entry in `dir` durable (POSIX: fsync the directory). */
export function fsyncDir(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, 'r');
  } catch {
    return; // platforms that cannot open a directory (Windows) make renames durable themselves
  }
  try {
    fsyncSync(fd);
  } catch {
    // some filesystems refuse fsync on a directory; the rename is still atomic
  } finally {
    closeSync(fd);
  }
}

export function renameDurable(from: string, to: string, faults?: CheckpointFaults): void {
  const label = (p: string) => path.basename(p).replace(/-\d+-\d+$/, ''); // without the pid and time of temp names
  faults?.onStep?.(`rename ${label(from)} -> ${label(to)}`);
  renameSync(from, to);
  fsyncDir(path.dirname(to));
}

/** Hash the listed files of `dir` (already written and synced) and write its manifest last. */
export function writeManifest(dir: string, files: string[], faults?: CheckpointFaults): void {
  const manifest: Manifest = {
    format: CHECKPOINT_FORMAT,
    files: files.map((p) => {
      const data = readFileSync(path.join(dir, p));
      return { path: p, bytes: data.byteLength, sha256: sha256(data) };
    }),
  };
  writeFileDurable(path.join(dir, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n', faults);
  fsyncDir(dir);
}

/**
 * Check `dir` against its manifest (and sub-manifests). Throws a ValidationError that names the
 * file and the reason: missing, torn manifest, wrong size, wrong sha256.
 */
export function verifyCheckpointDir(dir: string): Manifest {
  const file = path.join(dir, MANIFEST_FILE);
  if (!existsSync(file)) throw new ValidationError(`${file}: missing (an incomplete checkpoint)`);
  let manifest: Manifest;
  try {
    const parsed = ManifestSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    manifest = parsed.data;
  } catch (err) {
    throw new ValidationError(`${file}: not a readable checkpoint manifest (${(err as Error).message})`, [], { cause: err });
  }
  for (const entry of manifest.files) {
    const f = path.join(dir, entry.path);
    if (path.relative(dir, f).startsWith('..')) throw new ValidationError(`${file}: file "${entry.path}" lies outside the checkpoint`);
    if (!existsSync(f)) throw new ValidationError(`${f}: missing (listed in ${MANIFEST_FILE})`);
    const size = statSync(f).size;
    if (size !== entry.bytes) throw new ValidationError(`${f}: ${size} bytes, the manifest says ${entry.bytes} (truncated or overwritten)`);
    const hash = sha256(readFileSync(f));
    if (hash !== entry.sha256) throw new ValidationError(`${f}: sha256 ${hash.slice(0, 12)}…, the manifest says ${entry.sha256.slice(0, 12)}… (corrupted)`);
    if (path.basename(entry.path) === MANIFEST_FILE) verifyCheckpointDir(path.dirname(f));
  }
  return manifest;
}
