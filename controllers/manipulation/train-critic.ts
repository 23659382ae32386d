import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Env } from '../../src/core/env.js';
import { Rng } from '../../src/core/rng.js';
import { createCriticAgent, type CriticAgent } from './agent.js';
import { Coordinator } from './coordinator.js';
import { CRITIC_CHANNELS } from './critic.js';
import { heightmapChanged, HP } from './hyperparameters.js';
import { loadCriticAgent } from './load-critic.js';

/**
 * The critic agent's online training (Yang et al.'s recipe, small): ε-greedy with
 * ε = 0.5·0.998^t + 0.05, y = r + 0.5·max Q(s′) only if the heightmap changed (else y = r), Huber
 * loss on the executed pixel, prioritised replay by |pred − y|; the coordinator refit on labels
 * gathered online. Its env comes from `sim/registry.ts`, loaded lazily (as the training driver does).
 */

/** One point of the training curve: means over the motions since the previous point. */
export interface TrainingPoint {
  motions: number;
  /** Huber loss of the newly executed sample (before its update). */
  loss: number;
  /** |pred − y| of the newly executed sample (its replay priority). */
  absError: number;
  /** Success rate of the last 20 finished training episodes (ε-greedy, so below greedy). */
  success: number;
  epsilon: number;
  episodes: number;
  seconds: number;
}

export interface TrainingReport {
  scene: string;
  motions: number;
  episodes: number;
  trainSuccessRate: number;
  coordinatorLabels: number;
  seconds: number;
  curve: TrainingPoint[];
  /** The coordinator's own stage after the critic's (`fitCoordinator`), when it ran. */
  coordinatorFit?: CoordinatorFitReport;
}

export interface CoordinatorFitReport {
  scene: string;
  seed: number;
  motions: number;
  /** Grasps recorded from a visible target, and the fraction that took it. */
  labels: number;
  graspSuccessRate: number;
  /** Mean of the two classes' recall on the labels after the fit (0.5 is chance). */
  balancedAccuracy: number;
  seconds: number;
}

/**
 * Train the critic and the coordinator online for `motions` motions on one scene, then save the
 * agent to `saveDir`. Bounded by motions (not reward): see the README for what that buys.
 */
export async function trainCritic(opts: {
  sceneName: string;
  seed: number;
  motions: number;
  saveDir: string;
  /** Motions between two points of the training curve. */
  curveEvery?: number;
  /** Wall-clock budget, s: training stops (and saves) at the first motion past it. */
  maxSeconds?: number;
  /** Motions of the coordinator's own stage after training (`fitCoordinator`); 0 skips it. */
  coordinatorMotions?: number;
  log?: (line: string) => void;
}): Promise<TrainingReport> {
  const { createEnv, loadScene } = await import('../../sim/registry.js');
  const sceneConfig = loadScene(opts.sceneName).scene;
  const env = await createEnv(sceneConfig, { seed: opts.seed });
  // Training acts as the paper's agent does: the online-fitted coordinator picks push or grasp.
  const agent = await createCriticAgent(env.spec, { seed: opts.seed, model: env.model }, { coordinator: true });
  const g = agent.model.geometry;
  const n = g.P * g.P;
  const rng = new Rng(opts.seed + 17);
  const replay: { input: Float32Array; picked: number; label: number; err: number }[] = [];
  const coordX: number[][] = [];
  const coordY: number[] = [];
  const t0 = performance.now();
  let obs = env.reset({ seed: opts.seed * 100_000 }).obs;
  agent.reset();
  let q = agent.qMaps(obs);
  let episodes = 0;
  let successes = 0;
  let recentSucc: number[] = [];
  let lossSum = 0;
  let huberSum = 0;
  let samples = 0;
  const curve: TrainingPoint[] = [];
  const every = opts.curveEvery ?? 25;
  let trained = 0;
  for (let t = 0; t < opts.motions; t++) {
    if (opts.maxSeconds !== undefined && (performance.now() - t0) / 1000 > opts.maxSeconds) break;
    trained = t + 1;
    agent.epsilon = HP.epsilon0 * Math.pow(HP.epsilonDecay, t) + HP.epsilonMin;
    const d = agent.decide(obs, q);
    const r = env.step(d.action);
    const done = r.terminated || r.truncated;
    const changed = heightmapChanged(obs, r.obs, n);
    const qNext = agent.qMaps(r.obs);
    let maxNext = -Infinity;
    for (const byPrim of qNext) for (const m of byPrim) for (let p = 0; p < n; p++) if (m[p] > maxNext) maxNext = m[p];
    // y = r + γ·max Q(s′) only if the scene changed (Yang et al.), and never past a termination.
    const label = r.reward + (changed && !r.terminated ? HP.gamma * maxNext : 0);
    const sample = agent.trainingSample(obs, d);
    if (sample) {
      // Prioritised replay: sample ∝ (|pred − y| + 0.02)^α among the stored transitions.
      const batch = [{ ...sample, label, err: 1 }];
      if (replay.length > 8) {
        const w = replay.map((e) => Math.pow(e.err + 0.02, HP.priorityAlpha));
        const total = w.reduce((a, b) => a + b, 0);
        for (let j = 0; j < HP.replayPerStep; j++) {
          let u = rng.next() * total;
          let i = 0;
          while (i < w.length - 1 && u > w[i]) u -= w[i++];
          batch.push(replay[i]);
        }
      }
      const input = new Float32Array(batch.length * n * CRITIC_CHANNELS);
      batch.forEach((b, i) => input.set(b.input, i * n * CRITIC_CHANNELS));
      const preds = agent.critic.train(input, batch.length, Int32Array.from(batch, (b) => b.picked), Float32Array.from(batch, (b) => b.label));
      batch.forEach((b, i) => (b.err = Math.abs(preds[i] - b.label)));
      lossSum += batch[0].err;
      huberSum += batch[0].err <= 1 ? 0.5 * batch[0].err ** 2 : batch[0].err - 0.5;
      samples++;
      replay.push(batch[0]);
      if (replay.length > 3000) replay.shift();
    }
    // Coordinator labels: a grasp from a visible state, labelled by its outcome (1: the target was
    // grasped). Pushes get no label: a push that earned its reward says nothing about whether a
    // grasp would have failed there. The fit weighs the two classes equally (coordinator.ts).
    if (d.features && d.primitive === 1) {
      coordX.push(d.features);
      coordY.push(r.info.endReason === 'target-grasped' ? 1 : 0);
    }
    if ((t + 1) % HP.coordinatorEvery === 0 && coordY.includes(0) && coordY.includes(1) && coordY.length >= 10) {
      agent.coordinator.fit(coordX, coordY, 60);
      agent.coordinatorFitted = true;
    }
    if (done) {
      const m = (r.info.episode as { metrics: Record<string, number> }).metrics;
      episodes++;
      successes += m.success;
      recentSucc.push(m.success);
      if (recentSucc.length > 20) recentSucc = recentSucc.slice(-20);
      obs = env.reset().obs;
      agent.reset();
      q = agent.qMaps(obs);
    } else {
      obs = r.obs;
      q = qNext;
    }
    const last = t + 1 === opts.motions || (opts.maxSeconds !== undefined && (performance.now() - t0) / 1000 > opts.maxSeconds);
    if ((t + 1) % every === 0 || last) {
      const recent = recentSucc.reduce((a, b) => a + b, 0) / Math.max(1, recentSucc.length);
      const point: TrainingPoint = {
        motions: t + 1,
        loss: huberSum / Math.max(1, samples),
        absError: lossSum / Math.max(1, samples),
        success: recent,
        epsilon: agent.epsilon,
        episodes,
        seconds: (performance.now() - t0) / 1000,
      };
      curve.push(point);
      opts.log?.(
        `motion ${t + 1}/${opts.motions} ε=${point.epsilon.toFixed(3)} episodes=${episodes} success(last 20)=${(100 * recent).toFixed(0)}% huber=${point.loss.toFixed(4)} |err|=${point.absError.toFixed(3)} coordinator labels=${coordY.length} ${point.seconds.toFixed(0)}s`,
      );
      lossSum = 0;
      huberSum = 0;
      samples = 0;
    }
  }
  const report: TrainingReport = {
    scene: opts.sceneName,
    motions: trained,
    episodes,
    trainSuccessRate: episodes ? successes / episodes : 0,
    coordinatorLabels: coordY.length,
    seconds: (performance.now() - t0) / 1000,
    curve,
  };
  if (opts.coordinatorMotions) {
    // The trained critic is saved whatever the stage gives: a stage with too few labels leaves the online fit.
    try {
      report.coordinatorFit = await fitCoordinator(agent, env, { sceneName: opts.sceneName, seed: opts.seed + 1, motions: opts.coordinatorMotions, log: opts.log });
    } catch (err) {
      opts.log?.(`coordinator stage skipped, the online fit kept: ${(err as Error).message}`);
    }
  }
  await agent.save(opts.saveDir, { training: report }, { task: env.taskParams(sceneConfig) });
  agent.dispose();
  env.close();
  return report;
}

/**
 * The coordinator's own stage, after the critic's: the paper fits its coordinator on recorded
 * episodes of the trained critic (Yang et al., sec. III-B); the online fit during training chases
 * Q values that keep moving. Here the critic is frozen and, while the target is seen, push or grasp
 * is a fair coin with each primitive the critic's argmax (`coinFlipPrimitive`), so each label
 * answers the coordinator's own question: does the critic's best grasp take the target here? A
 * fresh coordinator is fit on those grasps' outcomes, the two classes weighed equally.
 */
export async function fitCoordinator(
  agent: CriticAgent,
  env: Env,
  opts: { sceneName: string; seed: number; motions: number; epochs?: number; log?: (line: string) => void },
): Promise<CoordinatorFitReport> {
  const t0 = performance.now();
  const X: number[][] = [];
  const Y: number[] = [];
  const [epsilon, coin] = [agent.epsilon, agent.coinFlipPrimitive];
  agent.epsilon = 0;
  agent.coinFlipPrimitive = true;
  let obs = env.reset({ seed: opts.seed * 100_000 }).obs;
  agent.reset();
  for (let t = 0; t < opts.motions; t++) {
    const d = agent.decide(obs);
    const r = env.step(d.action);
    if (d.features && d.primitive === 1) {
      X.push(d.features);
      Y.push(r.info.endReason === 'target-grasped' ? 1 : 0);
    }
    if (r.terminated || r.truncated) {
      obs = env.reset().obs;
      agent.reset();
    } else obs = r.obs;
  }
  [agent.epsilon, agent.coinFlipPrimitive] = [epsilon, coin];
  const ones = Y.reduce((a, b) => a + b, 0);
  if (!ones || ones === Y.length) throw new Error(`fitCoordinator: ${Y.length} grasps in ${opts.motions} motions, ${ones} took the target: both outcomes are needed (record more motions)`);
  const fresh = new Coordinator(new Rng(opts.seed + 29));
  fresh.fit(X, Y, opts.epochs ?? 300);
  agent.coordinator.setWeights(fresh.getWeights());
  fresh.dispose();
  agent.coordinatorFitted = true;
  const recall = [0, 1].map((c) => {
    const idx = Y.flatMap((y, i) => (y === c ? [i] : []));
    return idx.filter((i) => (agent.coordinator.pGrasp(X[i]) >= 0.5 ? 1 : 0) === c).length / idx.length;
  });
  const report: CoordinatorFitReport = {
    scene: opts.sceneName,
    seed: opts.seed,
    motions: opts.motions,
    labels: Y.length,
    graspSuccessRate: ones / Y.length,
    balancedAccuracy: (recall[0] + recall[1]) / 2,
    seconds: (performance.now() - t0) / 1000,
  };
  opts.log?.(`coordinator: ${Y.length} grasps recorded in ${opts.motions} motions (${(100 * report.graspSuccessRate).toFixed(1)}% took the target), balanced accuracy ${report.balancedAccuracy.toFixed(3)}`);
  return report;
}

/**
 * Refit the coordinator of a saved critic (`fitCoordinator`) and write it back, keeping its
 * training report and adding the stage's: `npm run check:manipulation -- --fit-coordinator N`.
 */
export async function refitCoordinator(opts: { policyDir: string; sceneName: string; seed: number; motions: number; log?: (line: string) => void }): Promise<CoordinatorFitReport> {
  const { createEnv, loadScene } = await import('../../sim/registry.js');
  const sceneConfig = loadScene(opts.sceneName).scene;
  const env = await createEnv(sceneConfig, { seed: opts.seed });
  const agent = await loadCriticAgent(opts.policyDir, env.spec, { seed: opts.seed, model: env.model });
  const manifest = JSON.parse(readFileSync(path.join(opts.policyDir, 'manifest.json'), 'utf8')) as { extra?: { training?: TrainingReport } };
  const training = manifest.extra?.training;
  if (!training) throw new Error(`${opts.policyDir}: no training report in manifest.json to keep`);
  try {
    training.coordinatorFit = await fitCoordinator(agent, env, { sceneName: opts.sceneName, seed: opts.seed, motions: opts.motions, log: opts.log });
    await agent.save(opts.policyDir, { training }, { task: env.taskParams(sceneConfig) });
    return training.coordinatorFit;
  } finally {
    agent.dispose();
    env.close();
  }
}
