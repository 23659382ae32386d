import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

/** A file of a trial's output, named relative to the trial directory and checked by sha256. */
export const FileEntry = z.object({ path: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/), bytes: z.number().int().nonnegative() });
export type FileEntry = z.infer<typeof FileEntry>;

export const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

/**
 * Every file under `root` (relative paths with "/"), with its sha256. `skip` drops directories by
 * name (a finished trial ships no `checkpoints/`: they exist to resume, and can be large).
 */
export function listFiles(root: string, opts: { under?: string; skip?: string[] } = {}): FileEntry[] {
  const out: FileEntry[] = [];
  const walk = (rel: string) => {
    const abs = path.join(root, rel);
    for (const e of readdirSync(abs, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (!opts.skip?.includes(e.name) && !e.name.startsWith('.tmp-')) walk(r);
      } else if (e.isFile() && !/\.tmp-\d+-\d+$/.test(e.name) && e.name !== 'run.lock') {
        // run.lock names this process and host: on another machine it would lock the run out.
        const data = readFileSync(path.join(root, r));
        out.push({ path: r, sha256: sha256(data), bytes: data.length });
      }
    }
  };
  const start = opts.under ?? '';
  if (existsSync(path.join(root, start))) walk(start === '.' ? '' : start);
  return out;
}

/** A relative path from another machine, refused if it could escape the trial directory. */
export function safeJoin(root: string, rel: string): string {
  const abs = path.resolve(root, rel);
  if (rel.includes('\0') || path.isAbsolute(rel) || !abs.startsWith(path.resolve(root) + path.sep)) throw new Error(`file path "${rel}" leaves ${root}`);
  return abs;
}

/** Check files already on disk (the local pool, or a shared --store) against their entries. */
export function verifyFiles(root: string, entries: FileEntry[]): void {
  for (const e of entries) {
    const abs = safeJoin(root, e.path);
    const got = existsSync(abs) ? sha256(readFileSync(abs)) : 'missing';
    if (got !== e.sha256) throw new Error(`${abs}: sha256 ${got} does not match ${e.sha256}`);
  }
}
