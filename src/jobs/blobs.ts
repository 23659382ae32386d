import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { writeFileAtomic } from '../core/atomic.js';
import { safeJoin, sha256, type FileEntry } from './files.js';

/**
 * Trial files through Redis itself, so workers need no shared filesystem: each file is stored
 * content-addressed (`embody:blob:<sha256>:<chunk>`, 4 MiB chunks, with an expiry), the job's
 * return value or progress names them, and the receiver checks the sha256 before writing.
 * Storing by hash makes a re-sent file (a retried job) a no-op.
 */
const CHUNK = 4 * 2 ** 20;
const TTL_SECONDS = 7 * 24 * 3600;
const key = (hash: string, i: number) => `embody:blob:${hash}:${i}`;

export async function putFiles(redis: Redis, root: string, files: FileEntry[]): Promise<void> {
  for (const f of files) {
    const data = readFileSync(safeJoin(root, f.path));
    if (sha256(data) !== f.sha256) throw new Error(`${f.path} changed while it was being sent`);
    const multi = redis.multi();
    for (let i = 0, c = 0; i < data.length; i += CHUNK, c++) multi.set(key(f.sha256, c), data.subarray(i, i + CHUNK), 'EX', TTL_SECONDS);
    await multi.exec();
  }
}

/** Fetch, check and write each file under `root` (atomically, so a crash leaves no half file). */
export async function getFiles(redis: Redis, root: string, files: FileEntry[]): Promise<void> {
  for (const f of files) {
    const chunks: Buffer[] = [];
    for (let c = 0; c * CHUNK < f.bytes; c++) {
      const part = await redis.getBuffer(key(f.sha256, c));
      if (!part) throw new Error(`${f.path}: chunk ${c} of ${f.sha256} is not in Redis (expired, or never sent)`);
      chunks.push(part);
    }
    const data = Buffer.concat(chunks);
    const got = sha256(data);
    if (got !== f.sha256 || data.length !== f.bytes) throw new Error(`${f.path}: received sha256 ${got} (${data.length} bytes), expected ${f.sha256} (${f.bytes} bytes)`);
    const abs = safeJoin(root, f.path);
    writeFileAtomic(abs, data);
  }
}
