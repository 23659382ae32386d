import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeJsonAtomic } from '../src/core/atomic.js';
import { PACKAGE_VERSION } from '../src/experiment/run-dir.js';

/** Where and how every benchmark writes its figures: bench/results/<YYYY-MM-DD>-<suite>.json. */
export function machineInfo() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    packageVersion: PACKAGE_VERSION,
  };
}

export function writeBenchResult(outDir: string, suite: string, figures: unknown): string {
  const date = new Date().toISOString().slice(0, 10);
  mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, `${date}-${suite}.json`);
  writeJsonAtomic(file, { suite, date: new Date().toISOString(), machine: machineInfo(), figures });
  return file;
}

/** Percentile of a sorted-or-not sample (nearest rank). */
export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export function table(rows: Record<string, string | number>[]): string {
  if (!rows.length) return '';
  const keys = Object.keys(rows[0]);
  const cell = (v: string | number) => (typeof v === 'number' ? (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2)) : v);
  const widths = keys.map((k) => Math.max(k.length, ...rows.map((r) => String(cell(r[k])).length)));
  const line = (vals: string[]) => '| ' + vals.map((v, i) => v.padEnd(widths[i])).join(' | ') + ' |';
  return [line(keys), '| ' + widths.map((w) => '-'.repeat(w)).join(' | ') + ' |', ...rows.map((r) => line(keys.map((k) => String(cell(r[k])))))].join('\n');
}
