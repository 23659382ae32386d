/**
 * Learning check for PPO and DQN on CartPole-v1 against the rl-baselines3-zoo figures, through
 * the real training driver (src/experiment/train.ts: per-task config, evaluation, checkpoints,
 * policy export). Runs one job at a time.
 *
 *   npx tsx bench/check-learning-discrete.ts [ppo] [dqn] [--seeds 3] [--first-seed 0] [--config extra.json] [--out runs/check-learning]
 *
 * Prints a table (final deterministic evaluation, 10 episodes, mean over seeds) and writes
 * bench/results/<date>-check-learning-discrete.json.
 */
import path from 'node:path';
import { train } from '../src/experiment/train.js';
import { table, writeBenchResult } from './results-io.js';

interface Check {
  controller: string;
  scene: string;
  steps: number;
  mustReach: number;
  zoo: string;
}

export const DISCRETE_CHECKS: Check[] = [
  { controller: 'ppo', scene: 'cartpole', steps: 100_000, mustReach: 475, zoo: '500 ± 0' },
  { controller: 'dqn', scene: 'cartpole', steps: 50_000, mustReach: 475, zoo: '500 ± 0' },
];

function args() {
  const argv = process.argv.slice(2);
  const opt = (name: string, dflt: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : dflt;
  };
  const kinds = argv.filter((a, i) => !a.startsWith('--') && !(i > 0 && argv[i - 1].startsWith('--')));
  return { kinds: kinds.length ? kinds : ['ppo', 'dqn'], seeds: Number(opt('--seeds', '3')), out: opt('--out', 'runs/check-learning'), firstSeed: Number(opt('--first-seed', '0')), configFile: opt('--config', '') || undefined };
}

async function main() {
  const { kinds, seeds, out, firstSeed, configFile } = args();
  const rows: Record<string, string | number>[] = [];
  const figures: unknown[] = [];
  const t0 = performance.now();
  for (const check of DISCRETE_CHECKS.filter((c) => kinds.includes(c.controller))) {
    const perSeed: { seed: number; finalReturn: number; bestReturn: number | null; wallSeconds: number; runDir: string }[] = [];
    for (let s = firstSeed; s < firstSeed + seeds; s++) {
      const res = await train({ scene: check.scene, controller: check.controller, seed: s, steps: check.steps, out, quiet: false, configFile });
      const finalReturn = res.finalEval?.return.mean ?? NaN;
      perSeed.push({ seed: s, finalReturn, bestReturn: res.bestEvalReturn, wallSeconds: res.wallSeconds, runDir: path.relative(process.cwd(), res.runDir) });
      process.stderr.write(`${check.controller} ${check.scene} seed ${s}: final eval return ${finalReturn.toFixed(1)}, wall ${res.wallSeconds.toFixed(1)} s\n`);
    }
    const rets = perSeed.map((p) => p.finalReturn);
    const mean = rets.reduce((a, b) => a + b, 0) / rets.length;
    const std = rets.length > 1 ? Math.sqrt(rets.reduce((a, b) => a + (b - mean) ** 2, 0) / (rets.length - 1)) : 0;
    const wall = perSeed.reduce((a, p) => a + p.wallSeconds, 0) / perSeed.length;
    rows.push({
      controller: check.controller.toUpperCase(),
      task: check.scene,
      steps: check.steps,
      seeds: perSeed.length,
      'final eval return': `${mean.toFixed(1)} ± ${std.toFixed(1)}`,
      'per seed': rets.map((r) => r.toFixed(0)).join(' / '),
      'best eval (policy-best)': perSeed.map((p) => (p.bestReturn ?? NaN).toFixed(0)).join(' / '),
      'must reach': `≥ ${check.mustReach}`,
      zoo: check.zoo,
      'wall s/seed': wall,
      ok: mean >= check.mustReach ? 'yes' : 'NO',
    });
    figures.push({ ...check, configFile: configFile ?? null, mean, std, perSeed });
  }
  console.log(table(rows));
  const total = (performance.now() - t0) / 1000;
  console.log(`total wall time ${total.toFixed(0)} s`);
  const suite = `check-learning-discrete${kinds.length === 1 ? `-${kinds[0]}` : ''}${configFile ? `-${path.basename(configFile, '.json')}` : ''}`;
  const file = writeBenchResult(path.join('bench', 'results'), suite, { checks: figures, totalWallSeconds: total });
  console.log(`wrote ${file}`);
}

await main();
