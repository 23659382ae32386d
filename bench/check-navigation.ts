/**
 * The navigation ablation (issue 8; FantasyHSI's closed-loop critic): the low level is pure
 * pursuit or a learned waypoint policy, each with and without the critic, at two actuation
 * noise levels, over N tasks × S seeds. Figures: success, SPL (Anderson et al. 2018),
 * collisions, cross-track error (mean and max against the planned path), replans, time.
 *
 *   npx tsx bench/check-navigation.ts [--tasks 50] [--seeds 3] [--scenes nav-apartment,nav-office]
 *        [--policy <waypoint policy dir> | none] [--max-minutes 20] [--out bench/results]
 *
 * Tasks are split evenly over the scenes; episode i of seed s is reset with seed 1000·s + i, so
 * every arm of the ablation drives the same tasks. The learned rows use the committed SAC policy
 * (controllers/planning/policies/nav-waypoint-sac) unless --policy says otherwise; `none` skips them.
 * Each (arm, seed) is one trial of a sweep on the local pool of worker processes (src/jobs;
 * `--workers 1` runs them one after another); a trial that would start past --max-minutes is skipped.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createEnv, loadScene } from '../sim/registry.js';
import type { NavModel } from '../sim/navigation/model.js';
import { NavAgent, createNavLearnedAgent } from '../controllers/planning/agent.js';
import { runEpisodes, type EpisodeResult } from '../src/experiment/rollout.js';
import { parseSweepSpec } from '../src/jobs/spec.js';
import { runSweep } from '../src/jobs/sweep.js';
import type { TrialFunction } from '../src/jobs/trial.js';
import { table, writeBenchResult } from './results-io.js';

const NOISE = {
  /** The scenes' own noise. */
  low: { slip: 0.1, speedBias: 0.05, turnBias: 0.1, delay: 0.1 },
  /** Four times the bias and slip, three times the delay. */
  high: { slip: 0.4, speedBias: 0.2, turnBias: 0.4, delay: 0.3 },
} as const;

function arg(name: string, fallback: string): string {
  const k = process.argv.indexOf(`--${name}`);
  return k >= 0 && process.argv[k + 1] ? process.argv[k + 1] : fallback;
}

const tasks = Number(arg('tasks', '50'));
const seeds = Number(arg('seeds', '3'));
const scenes = arg('scenes', 'nav-apartment,nav-office').split(',');
// The committed SAC waypoint policy by default; --policy none runs the pure-pursuit half only.
const DEFAULT_POLICY = 'controllers/planning/policies/nav-waypoint-sac';
const policyArg = arg('policy', existsSync(DEFAULT_POLICY) ? DEFAULT_POLICY : 'none');
const policy = policyArg === 'none' ? '' : policyArg;
const maxMinutes = Number(arg('max-minutes', '20'));
const outDir = arg('out', 'bench/results');

interface Arm {
  lowLevel: 'pure-pursuit' | 'learned';
  critic: boolean;
  noise: keyof typeof NOISE;
}

const arms: Arm[] = [];
for (const noise of ['low', 'high'] as const) {
  for (const lowLevel of ['pure-pursuit', 'learned'] as const) {
    if (lowLevel === 'learned' && !policy) continue;
    for (const critic of [false, true]) arms.push({ lowLevel, critic, noise });
  }
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
const std = (xs: number[]) => {
  const m = mean(xs);
  return xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1)) : 0;
};

type SeedEpisode = Pick<EpisodeResult, 'metrics'> & { scene: string; seedIndex: number };

/** One arm of the ablation on one seed, over every scene: the job of one trial. */
export const runArmSeed: TrialFunction = async ({ seed: s, config }) => {
  // Settings come in the config: this runs in a worker process, whose argv is not the check's.
  const arm = config.arm as Arm;
  const tasks = Number(config.tasks);
  const scenes = config.scenes as string[];
  if (Date.now() > Number(config.deadline)) return { skipped: true, episodes: [] };
  const episodes: SeedEpisode[] = [];
  for (let j = 0; j < scenes.length; j++) {
    const n = Math.floor(tasks / scenes.length) + (j < tasks % scenes.length ? 1 : 0);
    const scene = { ...loadScene(scenes[j]).scene, noise: NOISE[arm.noise] };
    const env = await createEnv(scene, { seed: s });
    const model = env.model as NavModel;
    const agent =
      arm.lowLevel === 'learned'
        ? await createNavLearnedAgent(model, env.spec, { policyDir: String(config.policy), critic: arm.critic })
        : new NavAgent(model, env.spec, { critic: arm.critic });
    const res = await runEpisodes({ env, controller: agent, episodes: n, seed: 1000 * s });
    episodes.push(...res.map((r) => ({ metrics: r.metrics, scene: scenes[j], seedIndex: s })));
    env.close();
  }
  return { skipped: false, episodes };
};

async function main(): Promise<void> {
  const t0 = performance.now();
  const rows: Record<string, string | number>[] = [];
  const figures: Record<string, unknown>[] = [];
  const workers = process.argv.includes('--workers') ? Number(arg('workers', '1')) : undefined;
  const sweep = await runSweep({
    spec: parseSweepSpec({
      name: 'check-navigation',
      command: 'function',
      module: 'bench/check-navigation.ts',
      export: 'runArmSeed',
      seeds: Array.from({ length: seeds }, (_, i) => i),
      grid: { arm: arms },
      config: { tasks, scenes, policy: policy ? path.resolve(policy) : '', deadline: Date.now() + maxMinutes * 60_000 },
    }),
    out: path.join('runs', 'check-navigation'),
    workers,
  });
  let stoppedEarly = false;
  for (const [k, arm] of arms.entries()) {
    const results: SeedEpisode[] = [];
    for (const t of sweep.state.trials.filter((x) => x.configIndex === k)) {
      if (t.status !== 'done') throw new Error(`check-navigation trial ${t.id} failed: ${t.error}`);
      const r = t.summary as { skipped: boolean; episodes: SeedEpisode[] };
      if (r.skipped) stoppedEarly = true;
      else results.push(...r.episodes);
    }
    if (!results.length) break;
    const m = (k: string) => results.map((r) => r.metrics[k] ?? 0);
    // Per-seed success rates, for the spread between seeds.
    const perSeed = [...new Set(results.map((r) => r.seedIndex))].map((s) => mean(results.filter((r) => r.seedIndex === s).map((r) => r.metrics.success)));
    const row = {
      noise: arm.noise,
      lowLevel: arm.lowLevel,
      critic: arm.critic ? 'yes' : 'no',
      episodes: results.length,
      success: mean(m('success')),
      successSeedStd: std(perSeed),
      spl: mean(m('spl')),
      collisions: mean(m('collisions')),
      crossTrackMean: mean(m('crossTrackMean')),
      crossTrackMax: mean(m('crossTrackMax')),
      replans: mean(m('replans')),
      corrections: mean(m('corrections')),
      timeS: mean(m('timeS')),
    };
    rows.push(row);
    figures.push({ ...row, perScene: Object.fromEntries(scenes.map((sc) => [sc, { success: mean(results.filter((r) => r.scene === sc).map((r) => r.metrics.success)), spl: mean(results.filter((r) => r.scene === sc).map((r) => r.metrics.spl)) }])) });
    console.error(`${arm.noise} ${arm.lowLevel} critic=${arm.critic}: ${results.length} episodes`);
  }

  const wallMinutes = (performance.now() - t0) / 60000;
  console.log(table(rows));
  console.log(`\n${tasks} tasks × ${seeds} seeds over ${scenes.join(', ')}; noise low = ${JSON.stringify(NOISE.low)}, high = ${JSON.stringify(NOISE.high)}; ${wallMinutes.toFixed(1)} min${stoppedEarly ? ' (stopped early by --max-minutes)' : ''}${policy ? `; learned policy ${policy}` : '; learned rows skipped (--policy none)'}`);
  const file = writeBenchResult(outDir, 'navigation', { tasks, seeds, scenes, noise: NOISE, policy: policy || null, wallMinutes, stoppedEarly, rows: figures });
  console.log(`wrote ${file}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
