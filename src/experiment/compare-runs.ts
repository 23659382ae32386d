import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * Whether two run directories hold the same results, bit for bit: the figures in
 * metrics.jsonl (wall-clock and speed fields aside) and every file of policy/ and policy-best/
 * (manifests aside, which name their run). Used by `embody rerun`.
 */
const isTiming = (key: string) => key === 'time' || key.startsWith('wall') || key.endsWith('PerSec') || key.endsWith('Seconds');

function figures(dir: string): string[] {
  const file = path.join(dir, 'metrics.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(l)).filter(([k]) => !isTiming(k)))));
}

function hashes(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir).sort()) {
    const file = path.join(dir, name);
    if (name === 'manifest.json' || !statSync(file).isFile()) continue;
    out[name] = createHash('sha256').update(readFileSync(file)).digest('hex');
  }
  return out;
}

export function compareRuns(a: string, b: string): { identical: boolean; compared: string[]; differences: string[] } {
  const differences: string[] = [];
  const compared: string[] = [];
  const fa = figures(a);
  const fb = figures(b);
  compared.push(`metrics.jsonl (${fa.length} lines)`);
  if (fa.length !== fb.length) differences.push(`metrics.jsonl has ${fa.length} lines, the rerun ${fb.length}`);
  else {
    const i = fa.findIndex((line, k) => line !== fb[k]);
    if (i >= 0) differences.push(`metrics.jsonl line ${i + 1} differs: ${fa[i]} vs ${fb[i]}`);
  }
  for (const sub of ['policy', 'policy-best']) {
    const ha = hashes(path.join(a, sub));
    const hb = hashes(path.join(b, sub));
    if (!Object.keys(ha).length && !Object.keys(hb).length) continue;
    compared.push(`${sub}/ (${Object.keys(ha).join(', ')})`);
    for (const name of new Set([...Object.keys(ha), ...Object.keys(hb)])) if (ha[name] !== hb[name]) differences.push(`${sub}/${name} differs`);
  }
  return { identical: differences.length === 0, compared, differences };
}
