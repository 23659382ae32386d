import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import type { Controller } from '../src/core/controller.js';
import { createEnv } from '../sim/registry.js';
import type { TaskEnv } from '../sim/task-env.js';
import { parseSweepSpec } from '../src/jobs/spec.js';
import { runSweep } from '../src/jobs/sweep.js';
import type { TrialFunction } from '../src/jobs/trial.js';
import { writeBenchResult } from './results-io.js';

/**
 * `npm run check:manipulation`: success within 20 motions over N episodes × S seeds for the
 * scripted `random` and `heuristic` controllers and the trained critic (controllers/manipulation),
 * on manip-clutter (target visible) and manip-hidden (target hidden). Prints a markdown table
 * and writes bench/results/<date>-check-manipulation.json.
 *
 * The critic is trained here first (bounded by --train-motions), unless --critic names a saved
 * agent directory. Training is small and stated in the output: read the numbers with that.
 * The evaluations (scene × controller × seed) then run as a sweep on the local pool of worker
 * processes (src/jobs; `--workers 1` runs them one after another), each calling `evaluateSeed`.
 */
interface Row {
  scene: string;
  controller: string;
  seed: number;
  episodes: number;
  success: number;
  graspSuccessRate: number;
  motionsPerSuccess: number;
  hiddenAtStart: number;
  seconds: number;
}

async function evaluate(env: TaskEnv, ctl: Controller, seed: number, episodes: number, state = false): Promise<Omit<Row, 'scene' | 'controller' | 'seed'>> {
  let success = 0;
  let grasps = 0;
  let graspOk = 0;
  let motionsOnSuccess = 0;
  let hidden = 0;
  const t0 = performance.now();
  for (let ep = 0; ep < episodes; ep++) {
    // Episode seeds are disjoint from any the critic trained on (training uses 0..1e5).
    let { obs } = env.reset({ seed: 1_000_000 + seed * 10_000 + ep });
    ctl.reset();
    for (;;) {
      const r = env.step(ctl.act(obs, state ? env.state : undefined));
      obs = r.obs;
      if (r.terminated || r.truncated) {
        const m = (r.info.episode as { metrics: Record<string, number> }).metrics;
        success += m.success;
        grasps += m.grasps;
        graspOk += m.graspSuccesses;
        hidden += m.hiddenAtStart;
        if (m.success) motionsOnSuccess += m.motions;
        break;
      }
    }
  }
  return {
    episodes,
    success: success / episodes,
    graspSuccessRate: grasps ? graspOk / grasps : 0,
    motionsPerSuccess: success ? motionsOnSuccess / success : NaN,
    hiddenAtStart: hidden / episodes,
    seconds: (performance.now() - t0) / 1000,
  };
}

/**
 * One (scene, controller, seed) evaluation: the job each trial of the sweep runs. One critic,
 * trained once on the mixed scene (target hidden in half of the resets), is evaluated on every
 * scene and seed: the seeds are evaluation seeds, not training seeds.
 */
export const evaluateSeed: TrialFunction = async ({ seed, scene, config }) => {
  const name = String(config.controller);
  const env = (await createEnv(String(scene), { seed })) as TaskEnv;
  let ctl: Controller;
  if (name === 'critic') {
    const mod = await import('../controllers/manipulation/agent.js');
    ctl = await mod.loadCriticAgent(String(config.criticDir), env.spec, { seed, model: env.model });
  } else {
    const { createScripted } = await import('../controllers/registry.js');
    ctl = await createScripted(name, env.spec, { seed, model: env.model });
  }
  const res = await evaluate(env, ctl, seed, Number(config.episodes));
  ctl.dispose?.();
  env.close();
  const row: Row = { scene: String(scene), controller: name, seed, ...res };
  return { ...row, score: row.success };
};

async function main() {
  const program = new Command()
    .option('--scenes <list>', 'comma-separated scenes', 'manip-clutter,manip-hidden')
    .option('--controllers <list>', 'random, heuristic, critic', 'random,heuristic,critic')
    .option('--episodes <n>', 'episodes per seed', '50')
    .option('--seeds <n>', 'seeds', '3')
    .option('--critic <dir>', 'a saved critic agent directory (skips training)')
    .option('--train-motions <n>', 'motions of critic training when no --critic is given', '800')
    .option('--train-scene <name>', 'the scene the critic trains on (hidden in half of the resets)', 'manip-mixed')
    .option('--save <dir>', 'where to save the trained critic', 'runs/manip-critic')
    .option('--out <dir>', 'results directory', 'bench/results')
    .option('--workers <n>', 'local worker processes for the evaluations', String(os.availableParallelism()))
    .parse();
  const o = program.opts();
  const scenes = String(o.scenes).split(',');
  const controllers = String(o.controllers).split(',');
  const episodes = Number(o.episodes);
  const seeds = Number(o.seeds);
  const rows: Row[] = [];
  const training: Record<string, unknown>[] = [];
  if (controllers.includes('critic') && !o.critic) {
    const mod = await import('../controllers/manipulation/agent.js');
    const report = await mod.trainCritic({ sceneName: String(o.trainScene), seed: 0, motions: Number(o.trainMotions), saveDir: String(o.save), log: (l: string) => console.log(`  [train ${o.trainScene}] ${l}`) });
    training.push(report);
    console.log(JSON.stringify({ training: report }));
  }
  const sweep = await runSweep({
    spec: parseSweepSpec({
      name: 'check-manipulation',
      command: 'function',
      module: 'bench/check-manipulation.ts',
      export: 'evaluateSeed',
      scenes,
      seeds: Array.from({ length: seeds }, (_, i) => i),
      grid: { controller: controllers },
      config: { episodes, criticDir: path.resolve(o.critic ? String(o.critic) : String(o.save)) },
    }),
    out: path.join('runs', 'check-manipulation'),
    workers: Number(o.workers),
  });
  for (const scene of scenes) {
    for (const name of controllers) {
      for (const t of sweep.state.trials.filter((x) => x.scene === scene && x.config.controller === name)) {
        if (t.status !== 'done') throw new Error(`check-manipulation trial ${t.id} failed: ${t.error}`);
        const { score: _score, ...row } = t.summary as unknown as Row & { score: number };
        rows.push(row);
        console.log(JSON.stringify(row));
      }
    }
  }
  // Mean ± std over seeds.
  const lines = ['| scene | controller | success (20 motions) | grasp success | motions / success | episodes |', '| --- | --- | --- | --- | --- | --- |'];
  const summary: Record<string, unknown>[] = [];
  for (const scene of scenes) {
    for (const name of controllers) {
      const rs = rows.filter((r) => r.scene === scene && r.controller === name);
      if (!rs.length) continue;
      const ms = (k: keyof Row) => {
        const xs = rs.map((r) => r[k] as number).filter((v) => Number.isFinite(v));
        const m = xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
        const sd = Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, xs.length));
        return { m, sd };
      };
      const s = ms('success');
      const g = ms('graspSuccessRate');
      const mo = ms('motionsPerSuccess');
      lines.push(`| ${scene} | ${name} | ${(100 * s.m).toFixed(1)}% ± ${(100 * s.sd).toFixed(1)} | ${(100 * g.m).toFixed(1)}% | ${mo.m.toFixed(1)} | ${rs.length} × ${episodes} |`);
      summary.push({ scene, controller: name, success: s.m, successStd: s.sd, graspSuccessRate: g.m, motionsPerSuccess: mo.m, seeds: rs.length, episodes });
    }
  }
  console.log(lines.join('\n'));
  const file = writeBenchResult(o.out, `check-manipulation-${controllers.join('-')}`, { rows, summary, training, table: lines.join('\n') });
  writeFileSync(file.replace(/\.json$/, '.md'), lines.join('\n') + '\n');
  console.log(`wrote ${file}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
