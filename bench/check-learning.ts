/**
 * `npm run check:learning [-- sac stac ppo dqn] [--seeds 3] [--max-minutes 30] [--workers N]`: train
 * for real, 3 seeds each, and compare the final deterministic evaluation (10 episodes) with the
 * rl-baselines3-zoo figures. Learners that are not registered are skipped with a notice.
 * Each row is a sweep over its seeds (src/jobs), and all rows share one local pool of worker
 * processes (one per core; `--workers 1` runs them one after another).
 * Writes bench/results/<date>-learning.json with every seed's return and wall time.
 */
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LEARNERS } from '../controllers/registry.js';
import { writeJsonAtomic } from '../src/core/atomic.js';
import { createLocalPool } from '../src/jobs/pool.js';
import { parseSweepSpec } from '../src/jobs/spec.js';
import { runSweep } from '../src/jobs/sweep.js';

export interface CheckRow {
  kind: string;
  scene: string;
  task: string;
  steps: number;
  mustReach: number;
  zoo: string;
}

export const CHECKS: CheckRow[] = [
  { kind: 'sac', scene: 'pendulum', task: 'Pendulum', steps: 20_000, mustReach: -200, zoo: '−157 ± 89' },
  { kind: 'stac', scene: 'pendulum', task: 'Pendulum', steps: 20_000, mustReach: -200, zoo: '(SAC −157 ± 89)' },
  { kind: 'ppo', scene: 'cartpole', task: 'CartPole', steps: 100_000, mustReach: 475, zoo: '500 ± 0' },
  { kind: 'dqn', scene: 'cartpole', task: 'CartPole', steps: 50_000, mustReach: 475, zoo: '500 ± 0' },
];

interface SeedResult {
  seed: number;
  finalReturn: number | null;
  bestReturn: number | null;
  wallSeconds: number;
  envSteps: number;
  timedOut: boolean;
  runDir: string;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const flag = (name: string, def: number) => {
    const i = argv.indexOf(name);
    return i >= 0 ? Number(argv[i + 1]) : def;
  };
  const seeds = flag('--seeds', 3);
  const maxMinutes = flag('--max-minutes', 30);
  const pool = createLocalPool(flag('--workers', os.availableParallelism()));
  const flagValues = new Set(['--seeds', '--max-minutes', '--workers'].flatMap((f) => (argv.includes(f) ? [argv[argv.indexOf(f) + 1]] : [])));
  const wanted = argv.filter((a) => !a.startsWith('--') && !flagValues.has(a));
  const rows = CHECKS.filter((c) => wanted.length === 0 || wanted.includes(c.kind));
  const out = path.join('runs', 'check-learning');
  const results: (CheckRow & { seeds: SeedResult[]; mean: number | null; std: number | null; pass: boolean | null; skipped?: string })[] = [];
  const t0 = performance.now();
  const loadAverageStart = os.loadavg();
  const ran = rows.filter((row) => LEARNERS[row.kind]);
  const notRegistered = (row: CheckRow) => `learner "${row.kind}" is not registered in controllers/registry.ts`;
  for (const row of rows.filter((r) => !LEARNERS[r.kind])) console.log(`skip ${row.kind} ${row.task}: ${notRegistered(row)}`);
  const sweeps = await Promise.all(
    ran.map((row) =>
      runSweep({
        spec: parseSweepSpec({ name: `check-learning-${row.kind}`, command: 'train', scene: row.scene, controller: row.kind, steps: row.steps, seeds: Array.from({ length: seeds }, (_, i) => i), maxMinutes }),
        out,
        pool,
      }),
    ),
  );
  for (const row of rows) {
    const sweep = sweeps[ran.indexOf(row)];
    if (!sweep) {
      results.push({ ...row, seeds: [], mean: null, std: null, pass: null, skipped: notRegistered(row) });
      continue;
    }
    const seedResults: SeedResult[] = sweep.state.trials.map((t) => {
      const r = (t.summary ?? {}) as { finalEval?: { return: { mean: number } } | null; bestEvalReturn?: number | null; wallSeconds?: number; envSteps?: number; timedOut?: boolean };
      const s: SeedResult = {
        seed: t.seed,
        finalReturn: r.finalEval?.return.mean ?? null,
        bestReturn: r.bestEvalReturn ?? null,
        wallSeconds: r.wallSeconds ?? 0,
        envSteps: r.envSteps ?? 0,
        timedOut: t.status !== 'done' || !!r.timedOut,
        runDir: t.runDir ? path.relative(process.cwd(), path.join(sweep.dir, t.runDir)) : '',
      };
      console.log(`${row.kind} ${row.task} seed ${t.seed}: final eval return ${s.finalReturn?.toFixed(1)} after ${s.envSteps} steps, ${s.wallSeconds.toFixed(0)} s${t.status !== 'done' ? ` (FAILED: ${t.error})` : s.timedOut ? ' (TIMED OUT)' : ''}`);
      return s;
    });
    const finals = seedResults.map((s) => s.finalReturn ?? -Infinity);
    const mean = finals.reduce((a, b) => a + b, 0) / finals.length;
    const std = Math.sqrt(finals.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, finals.length - 1));
    const complete = seedResults.every((s) => !s.timedOut);
    results.push({ ...row, seeds: seedResults, mean, std, pass: complete && mean >= row.mustReach });
  }
  const wall = (performance.now() - t0) / 1000;
  const header = ['controller', 'task', 'steps', 'seeds (final eval return)', 'mean ± std', 'must reach', 'zoo', 'result', 'wall'];
  const table = results.map((r) => [
    r.kind.toUpperCase(),
    r.task,
    `${r.steps / 1000}k`,
    r.skipped ? '—' : r.seeds.map((s) => (s.finalReturn === null ? 'n/a' : s.finalReturn.toFixed(1)) + (s.timedOut ? '*' : '')).join(', '),
    r.mean === null ? '—' : `${r.mean.toFixed(1)} ± ${r.std!.toFixed(1)}`,
    `≥ ${r.mustReach}`,
    r.zoo,
    r.skipped ? 'skipped' : r.pass ? 'PASS' : 'FAIL',
    r.skipped ? '—' : `${(r.seeds.reduce((a, s) => a + s.wallSeconds, 0) / 60).toFixed(1)} min`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => t[i].length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(widths[i])).join(' | ') + ' |';
  console.log('\n' + line(header));
  console.log('| ' + widths.map((w) => '-'.repeat(w)).join(' | ') + ' |');
  for (const t of table) console.log(line(t));
  console.log(`\ntotal wall time ${(wall / 60).toFixed(1)} min${results.some((r) => r.seeds.some((s) => s.timedOut)) ? '; * = stopped by --max-minutes' : ''}`);
  const dir = path.join('bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${new Date().toISOString().slice(0, 10)}-learning${wanted.length ? '-' + wanted.join('-') : ''}${argv.includes('--workers') ? `-w${pool.size}` : ''}.json`);
  writeJsonAtomic(file, { suite: 'learning', date: new Date().toISOString(), seeds, maxMinutesPerSeed: maxMinutes, workers: pool.size, loadAverageStart, loadAverage: os.loadavg(), wallSeconds: wall, results });
  console.log(`wrote ${file}`);
  if (results.some((r) => r.pass === false)) process.exitCode = 1;
}

await main();
