/**
 * `npx tsx bench/time-to-solve.ts [--label before|after] [sac ppo dqn]`: wall time to the end of
 * the check:learning budget and the final deterministic evaluation, one seed (0) per row, with
 * the load average at start and end (the machine is shared: wall times are loaded figures).
 * Writes bench/results/<date>-time-to-solve-<label>.json.
 */
import { execSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeJsonAtomic } from '../src/core/atomic.js';
import { train } from '../src/experiment/train.js';

const ROWS = [
  { kind: 'sac', scene: 'pendulum', steps: 20_000 },
  { kind: 'ppo', scene: 'cartpole', steps: 100_000 },
  { kind: 'dqn', scene: 'cartpole', steps: 50_000 },
];

const argv = process.argv.slice(2);
const li = argv.indexOf('--label');
const label = li >= 0 ? argv[li + 1] : 'now';
// --steps N: a shorter budget for every row run (when the full one does not fit); named in the file.
const si = argv.indexOf('--steps');
const stepsOverride = si >= 0 ? Number(argv[si + 1]) : null;
const wanted = argv.filter((a, i) => !a.startsWith('--') && i !== li + 1 && i !== si + 1);
const commit = (() => {
  try {
    return execSync('git rev-parse --short HEAD', { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
})();
const rows: Record<string, unknown>[] = [];
const dir = path.join('bench', 'results');
const file = path.join(dir, `${new Date().toISOString().slice(0, 10)}-time-to-solve-${label}${wanted.length ? '-' + wanted.join('-') : ''}${stepsOverride ? `-${stepsOverride}` : ''}.json`);
/** Written after every row, so a run cut short keeps what it measured. */
function writeRows(): void {
  mkdirSync(dir, { recursive: true });
  writeJsonAtomic(file, { suite: 'time-to-solve', label, commit, date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, rows });
}
for (const row of ROWS.filter((r) => wanted.length === 0 || wanted.includes(r.kind)).map((r) => (stepsOverride ? { ...r, steps: stepsOverride } : r))) {
  const loadStart = os.loadavg();
  const cpu0 = process.cpuUsage();
  const r = await train({ scene: row.scene, controller: row.kind, steps: row.steps, seed: 0, out: path.join('runs', 'time-to-solve'), quiet: true, maxWallSeconds: 60 * 60 });
  const result = {
    ...row,
    seed: 0,
    command: `embody train ${row.scene} -c ${row.kind} --steps ${row.steps} -s 0`,
    wallSeconds: r.wallSeconds,
    /** CPU seconds of this process (user + system): what a shared machine inflates least. */
    cpuSeconds: ((c) => (c.user + c.system) / 1e6)(process.cpuUsage(cpu0)),
    finalReturn: r.finalEval?.return.mean ?? null,
    envSteps: r.envSteps,
    timedOut: r.timedOut,
    loadAverageStart: loadStart,
    loadAverageEnd: os.loadavg(),
  };
  rows.push(result);
  writeRows();
  console.log(`${row.kind} ${row.scene} ${row.steps}: ${r.wallSeconds.toFixed(0)} s (${result.cpuSeconds.toFixed(0)} s CPU), final ${result.finalReturn?.toFixed(1)}, load ${loadStart[0].toFixed(1)} → ${result.loadAverageEnd[0].toFixed(1)}`);
}
console.log(`wrote ${file}`);
