import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import type { Controller } from '../src/core/controller.js';
import { plotResultsTraining } from '../src/experiment/plot.js';
import { createEnv } from '../sim/registry.js';
import type { TaskEnv } from '../sim/task-env.js';
import { writeBenchResult } from './results-io.js';

/**
 * `npm run check:manipulation`: success within 20 motions over N episodes × S seeds on
 * manip-clutter (target visible) and manip-hidden (target hidden), for
 * - `random`: uniform random actions;
 * - `heuristic`: the scripted baseline (controllers/scripted/manipulation.ts);
 * - `critic-untrained`: the paper's agent (controllers/manipulation) with its initial weights;
 * - `critic`: the same agent with the trained critic (the committed policy artifact);
 * - `critic-test-updates`: the trained critic tested as the paper tests it, learning from each
 *   motion of an episode and reset to the saved weights between episodes (rules.ts `testTimeUpdates`);
 * - `critic-coordinator`: the trained critic with the paper's coordinator picking push or grasp
 *   (rules.ts `coordinator`; off by default, when the larger Q picks: VPG's rule);
 * - `critic-no-rules`: the ablation, the trained critic with every decision rule off (raw argmax).
 *
 * The trained critic is read from --policy (committed under controllers/manipulation/policies/);
 * `--train` retrains it first (--train-motions on --train-scene, then the coordinator's own stage
 * of --fit-coordinator motions) and writes it there; `--fit-coordinator N` alone refits the saved
 * critic's coordinator (train-critic.ts `fitCoordinator`). The
 * training curve (motions, loss, success) stored with the policy goes into the results JSON
 * (`figures.training`); `embody plot <that JSON> --out docs/manipulation-training.svg` plots it
 * (or `--plot <file>` here, with the same function).
 * Writes bench/results/<date>-check-manipulation[-<controllers>].json and a .md table beside it.
 */
export const CONTROLLERS = ['random', 'heuristic', 'critic-untrained', 'critic', 'critic-test-updates', 'critic-coordinator', 'critic-no-rules'] as const;
export const DEFAULT_POLICY = 'controllers/manipulation/policies/manip-critic';

export interface Row {
  scene: string;
  controller: string;
  seed: number;
  episodes: number;
  success: number;
  graspSuccessRate: number;
  motionsPerSuccess: number;
  hiddenAtStart: number;
  targetLost: number;
  seconds: number;
}

async function makeController(name: string, env: TaskEnv, seed: number, policyDir: string): Promise<Controller> {
  const context = { seed, model: env.model };
  if (name.startsWith('critic')) {
    const { createCriticAgent } = await import('../controllers/manipulation/agent.js');
    const { loadCriticAgent } = await import('../controllers/manipulation/load-critic.js');
    const { NO_RULES } = await import('../controllers/manipulation/rules.js');
    if (name === 'critic-untrained') return createCriticAgent(env.spec, context);
    if (name === 'critic') return loadCriticAgent(policyDir, env.spec, context);
    if (name === 'critic-test-updates') return loadCriticAgent(policyDir, env.spec, context, { testTimeUpdates: true });
    if (name === 'critic-coordinator') return loadCriticAgent(policyDir, env.spec, context, { coordinator: true });
    if (name === 'critic-no-rules') return loadCriticAgent(policyDir, env.spec, context, NO_RULES);
    throw new Error(`--controllers: unknown critic variant '${name}' (expected one of ${CONTROLLERS.join(', ')})`);
  }
  const { createScripted } = await import('../controllers/registry.js');
  return createScripted(name, env.spec, context);
}

/**
 * One cell of the table: `episodes` episodes of one controller on one scene and seed. A plain
 * function of its arguments, so cells can run in any order or in separate processes.
 */
export async function evaluateCell(scene: string, controller: string, seed: number, episodes: number, policyDir = DEFAULT_POLICY): Promise<Row> {
  const env = (await createEnv(scene, { seed })) as TaskEnv;
  let ctl: Controller;
  try {
    ctl = await makeController(controller, env, seed, policyDir);
  } catch (err) {
    env.close();
    throw err;
  }
  let success = 0;
  let grasps = 0;
  let graspOk = 0;
  let motionsOnSuccess = 0;
  let hidden = 0;
  let lost = 0;
  const t0 = performance.now();
  try {
    for (let ep = 0; ep < episodes; ep++) {
      // Episode seeds are disjoint from any the critic trained on (training uses 0..1e5).
      let { obs } = env.reset({ seed: 1_000_000 + seed * 10_000 + ep });
      ctl.reset();
      for (;;) {
        const r = env.step(ctl.act(obs));
        obs = r.obs;
        if (r.terminated || r.truncated) {
          const m = (r.info.episode as { metrics: Record<string, number> }).metrics;
          success += m.success;
          grasps += m.grasps;
          graspOk += m.graspSuccesses;
          hidden += m.hiddenAtStart;
          lost += m.targetLost;
          if (m.success) motionsOnSuccess += m.motions;
          break;
        }
      }
    }
  } finally {
    ctl.dispose?.();
    env.close();
  }
  return {
    scene,
    controller,
    seed,
    episodes,
    success: success / episodes,
    graspSuccessRate: grasps ? graspOk / grasps : 0,
    motionsPerSuccess: success ? motionsOnSuccess / success : NaN,
    hiddenAtStart: hidden / episodes,
    targetLost: lost / episodes,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** Mean and population std over seeds of the finite values. */
function meanStd(xs: number[]): { m: number; sd: number } {
  const v = xs.filter((x) => Number.isFinite(x));
  const m = v.reduce((a, b) => a + b, 0) / Math.max(1, v.length);
  return { m, sd: Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, v.length)) };
}

export function summarise(rows: Row[], scenes: string[], controllers: string[]) {
  const lines = ['| scene | controller | success (20 motions) | grasp success | motions / success | target lost | episodes |', '| --- | --- | --- | --- | --- | --- | --- |'];
  const summary: Record<string, unknown>[] = [];
  for (const scene of scenes) {
    for (const name of controllers) {
      const rs = rows.filter((r) => r.scene === scene && r.controller === name);
      if (!rs.length) continue;
      const s = meanStd(rs.map((r) => r.success));
      const g = meanStd(rs.map((r) => r.graspSuccessRate));
      const mo = meanStd(rs.map((r) => r.motionsPerSuccess));
      const lost = meanStd(rs.map((r) => r.targetLost));
      const episodes = rs.reduce((a, r) => a + r.episodes, 0);
      lines.push(
        `| ${scene} | ${name} | ${(100 * s.m).toFixed(1)}% ± ${(100 * s.sd).toFixed(1)} | ${(100 * g.m).toFixed(1)}% | ${Number.isFinite(mo.m) && rs.some((r) => r.success > 0) ? mo.m.toFixed(1) : '–'} | ${(100 * lost.m).toFixed(1)}% | ${rs.length} × ${rs[0].episodes} |`,
      );
      summary.push({ scene, controller: name, success: s.m, successStd: s.sd, successPercent: Number((100 * s.m).toFixed(1)), successStdPercent: Number((100 * s.sd).toFixed(1)), graspSuccessRate: g.m, motionsPerSuccess: mo.m, targetLost: lost.m, seeds: rs.length, episodes });
    }
  }
  return { lines, summary };
}

type Training = { curve?: { motions: number; loss: number; success: number }[] } & Record<string, unknown>;

/**
 * The training curve stored with the policy (`extra.training` of a v2 manifest.json, or a legacy
 * agent.json's `training`), or [] when it has none.
 */
export function readTraining(policyDir: string): { report: Record<string, unknown> | null; curve: { motions: number; loss: number; success: number }[] } {
  const manifest = path.join(policyDir, 'manifest.json');
  const legacy = path.join(policyDir, 'agent.json');
  let training: Training | undefined;
  if (existsSync(manifest)) training = (JSON.parse(readFileSync(manifest, 'utf8')) as { extra?: { training?: Training } }).extra?.training;
  else if (existsSync(legacy)) training = (JSON.parse(readFileSync(legacy, 'utf8')) as { training?: Training }).training;
  if (!training) return { report: null, curve: [] };
  const { curve = [], ...report } = training;
  return { report, curve };
}

async function main() {
  const program = new Command()
    .option('--scenes <list>', 'comma-separated scenes', 'manip-clutter,manip-hidden')
    .option('--controllers <list>', CONTROLLERS.join(', '), CONTROLLERS.join(','))
    .option('--episodes <n>', 'episodes per seed', '50')
    .option('--seeds <n>', 'seeds', '3')
    .option('--policy <dir>', 'the trained critic (a saved agent directory)', DEFAULT_POLICY)
    .option('--train', 'retrain the critic first and write it to --policy')
    .option('--train-motions <n>', 'motions of critic training with --train', '800')
    .option('--train-seconds <s>', 'wall-clock budget of --train (stops early, saves what it has)')
    .option('--train-scene <name>', 'the scene the critic trains on (hidden in half of the resets)', 'manip-mixed')
    .option('--fit-coordinator <motions>', "motions of the coordinator's own stage (recorded episodes of the frozen critic); with --train it follows training (default 1500), alone it refits --policy's coordinator")
    .option('--plot <file>', 'also plot the training curve here (as `embody plot <results JSON> --out <file>` does)')
    .option('--out <dir>', 'results directory', 'bench/results')
    .parse();
  const o = program.opts();
  const scenes = String(o.scenes).split(',');
  const controllers = String(o.controllers).split(',');
  const episodes = Number(o.episodes);
  const seeds = Number(o.seeds);
  const policyDir = String(o.policy);
  if (o.train) {
    // One critic, trained once on the mixed scene (target hidden in half of the resets), then
    // evaluated on every scene and seed: the seeds are evaluation seeds, not training seeds.
    const { trainCritic } = await import('../controllers/manipulation/train-critic.js');
    await trainCritic({
      sceneName: String(o.trainScene),
      seed: 0,
      motions: Number(o.trainMotions),
      maxSeconds: o.trainSeconds ? Number(o.trainSeconds) : undefined,
      coordinatorMotions: Number(o.fitCoordinator ?? 1500),
      saveDir: policyDir,
      log: (l: string) => console.log(`  [train ${o.trainScene}] ${l}`),
    });
  } else if (o.fitCoordinator !== undefined) {
    const { refitCoordinator } = await import('../controllers/manipulation/train-critic.js');
    await refitCoordinator({ policyDir, sceneName: String(o.trainScene), seed: 1, motions: Number(o.fitCoordinator), log: (l: string) => console.log(`  [coordinator ${o.trainScene}] ${l}`) });
  }
  const training = readTraining(policyDir);
  if (controllers.some((c) => c !== 'random' && c !== 'heuristic' && c !== 'critic-untrained') && !training.report) throw new Error(`${policyDir}: no trained critic there (no training report in manifest.json or agent.json; run with --train)`);
  const rows: Row[] = [];
  // The machine is shared: its load goes into the results beside the figures.
  const loadAtStart = os.loadavg();
  for (const scene of scenes) {
    for (const name of controllers) {
      for (let seed = 0; seed < seeds; seed++) {
        const row = await evaluateCell(scene, name, seed, episodes, policyDir);
        rows.push(row);
        console.log(JSON.stringify(row));
      }
    }
  }
  const { lines, summary } = summarise(rows, scenes, controllers);
  console.log(lines.join('\n'));
  const all = CONTROLLERS.every((c) => controllers.includes(c));
  const file = writeBenchResult(o.out, all ? 'check-manipulation' : `check-manipulation-${controllers.join('-')}`, {
    rows,
    summary,
    training: training.curve,
    trainingReport: training.report,
    policy: policyDir,
    loadAverage: { start: loadAtStart, end: os.loadavg() },
    table: lines.join('\n'),
  });
  writeFileSync(file.replace(/\.json$/, '.md'), lines.join('\n') + '\n');
  if (training.curve.length && o.plot) console.log(`wrote ${plotResultsTraining(file, { outFile: String(o.plot) })}`);
  console.log(`wrote ${file}`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
