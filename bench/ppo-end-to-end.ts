/**
 * `npx tsx bench/ppo-end-to-end.ts [--label before|after] [--steps N] [--scene cartpole] [--set key=value ...]`:
 * PPO env steps/s end to end (an `embody train` run, startup excluded, eval, checkpoints and logging
 * included), and where its time went: rollout collection and update (GAE + minibatch epochs), summed
 * from the learner's own per-iteration figures in metrics.jsonl, and the rest of the run (evaluation,
 * checkpoints, metrics, export). One seed (0), the scene's configs/<scene>.ppo.json.
 * Writes bench/results/<date>-ppo-end-to-end-<label>.json (the load average is recorded: on a shared
 * machine wall times are loaded figures; CPU seconds are inflated least).
 */
import { execSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { train } from '../src/experiment/train.js';
import { writeBenchResult } from './results-io.js';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : dflt;
};
const label = opt('--label', 'now');
const steps = Number(opt('--steps', '100000'));
const scene = opt('--scene', 'cartpole');
const overrides: Record<string, unknown> = {};
argv.forEach((a, i) => {
  if (a !== '--set') return;
  const [k, v] = argv[i + 1].split('=');
  overrides[k] = /^-?[\d.]+(e-?\d+)?$/.test(v) ? Number(v) : v;
});
const commit = (() => {
  try {
    return execSync('git rev-parse --short HEAD', { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
})();

const loadStart = os.loadavg();
const cpu0 = process.cpuUsage();
const r = await train({ scene, controller: 'ppo', steps, seed: 0, out: path.join('runs', 'ppo-end-to-end'), quiet: true, overrides });
const cpuSeconds = ((c) => (c.user + c.system) / 1e6)(process.cpuUsage(cpu0));

// The learner logs one 'train' line per iteration: rollout env steps/s and rollout+update steps/s.
let rolloutSeconds = 0;
let updateSeconds = 0;
let iterations = 0;
const lines = readFileSync(path.join(r.runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number | string>);
const returns: number[] = [];
for (const m of lines) {
  if (m.kind === 'episode') returns.push(m.return as number);
  if (m.kind !== 'train') continue;
  const n = Number(m.rolloutSteps ?? 0) || null;
  iterations++;
  // rolloutSteps is recorded since this bench; before it, numEnvs × numSteps is the iteration size.
  const size = n ?? r.envSteps / Math.max(1, lines.filter((x) => x.kind === 'train').length);
  const rollout = size / (m.envStepsPerSec as number);
  rolloutSeconds += rollout;
  updateSeconds += size / (m.stepsPerSec as number) - rollout;
}
const wall = r.wallSeconds;
const evalReturns = lines.filter((m) => m.kind === 'eval').map((m) => m.return as number);
const row = {
  scene,
  steps,
  seed: 0,
  overrides,
  command: `npx tsx bench/ppo-end-to-end.ts --label ${label} --steps ${steps} --scene ${scene}${Object.entries(overrides).map(([k, v]) => ` --set ${k}=${v}`).join('')}`,
  backend: r.backend,
  envSteps: r.envSteps,
  wallSeconds: wall,
  cpuSeconds,
  envStepsPerSec: r.envSteps / wall,
  envStepsPerCpuSec: r.envSteps / cpuSeconds,
  iterations,
  rolloutSeconds,
  updateSeconds,
  otherSeconds: wall - rolloutSeconds - updateSeconds,
  rolloutShare: rolloutSeconds / wall,
  updateShare: updateSeconds / wall,
  collectionEnvStepsPerSec: r.envSteps / rolloutSeconds,
  finalEvalReturn: r.finalEval?.return.mean ?? null,
  evalReturns,
  trainEpisodes: returns.length,
  trainReturnSum: returns.reduce((a, b) => a + b, 0),
  loadAverageStart: loadStart,
  loadAverageEnd: os.loadavg(),
};
const file = writeBenchResult(path.join('bench', 'results'), `ppo-end-to-end-${label}`, { label, commit, cores: os.availableParallelism(), rows: [row] });
console.log(
  `${scene} ppo ${r.envSteps} steps: ${row.envStepsPerSec.toFixed(0)} env steps/s end to end (${row.envStepsPerCpuSec.toFixed(0)} per CPU s); ` +
    `rollout ${(100 * row.rolloutShare).toFixed(1)}% (${row.collectionEnvStepsPerSec.toFixed(0)} steps/s), update ${(100 * row.updateShare).toFixed(1)}%, ` +
    `other ${(100 * (row.otherSeconds / wall)).toFixed(1)}%; final eval ${row.finalEvalReturn}; load ${loadStart[0].toFixed(1)} → ${row.loadAverageEnd[0].toFixed(1)}`,
);
console.log(`wrote ${file}`);
