/**
 * Soft Actor-Critic (Haarnoja et al. 2018, "Soft Actor-Critic Algorithms and Applications"), read
 * like CleanRL's sac_continuous_action.py, with the STAC variant ("Stochastic Actor-Critic",
 * Özalp; code ugurcanozalp/rl-warehouse algos/stac.py): one critic that outputs Normal(μ, σ),
 * trained by Gaussian NLL against y = r + γ(1−d)(μ′ − β·σ′ − α·log π(a′|s′)).
 *
 * This file is the Learner: acting, the env loop, logging, evaluation and export. The update is
 * update.ts (target → critic loss → actor loss → temperature → soft update), the networks and heads
 * networks.ts, the hyper-parameters config.ts, checkpoints checkpoint.ts; tensor plumbing
 * (variables, kernels, Adam) is controllers/nn's.
 */
import * as tf from '@tensorflow/tfjs';
import type { Env } from '../../src/core/env.js';
import { ValidationError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import type { Box } from '../../src/core/spaces.js';
import { initBackend } from '../backend.js';
import type { LearnHooks, Learner, LearnerOptions, ExportMeta } from '../learner.js';
import type { CheckpointFaults } from '../checkpoint/manifest.js';
import { Adam, ScalarAdam, tanhGaussianSample } from '../nn/index.js';
import { actionScalingFor, savePolicy } from '../policy/artifact.js';
import { PolicyController } from '../policy/controller.js';
import { NetworkRunner } from '../policy/network.js';
import { RunningNormalizer } from '../policy/normalizer.js';
import { ReplayBuffer, type Batch } from '../replay/replay-buffer.js';
import { loadSacCheckpoint, saveSacCheckpoint, type SacCheckpointParts } from './checkpoint.js';
import { parseSacConfig, type SacConfig } from './config.js';
import { SacNetworks } from './networks.js';
import { sacUpdate, type SacUpdateParts } from './update.js';

export { parseSacConfig, SacConfigSchema, type SacConfig } from './config.js';

/** Training episode k is reset with this seed, so a resumed run needs only k (see README: checkpoints). */
export const trainEpisodeSeed = (seed: number, k: number) => ((seed * 100_003 + k) >>> 0) + 1;

export class SacLearner implements Learner {
  readonly kind: string;
  readonly config: SacConfig;
  get hyperparameters(): SacConfig {
    return this.config;
  }
  envSteps = 0;
  /** Gradient updates done (critic updates). */
  updates = 0;
  private readonly obsSize: number;
  private readonly actSize: number;
  private readonly targetEntropy: number;
  private readonly nets: SacNetworks;
  private readonly actorOpt: Adam;
  private readonly criticOpt: Adam;
  private readonly logAlpha: ScalarAdam;
  private readonly buffer: ReplayBuffer;
  private readonly normalizer: RunningNormalizer | null;
  private readonly scaling: { low: number[]; high: number[] } | null;
  private readonly rng: Rng;
  private episodeIndex = 0;
  private obs: Float32Array | null = null;
  private epReturn = 0;
  private epLength = 0;
  private batch: Batch | null = null;
  /** Pure-JS copy of the actor for acting (no tensors per env step); rebuilt after the actor changes. */
  private actorRunner: NetworkRunner | null = null;
  private readonly stats = { criticLoss: 0, actorLoss: 0, entropy: 0, qMean: 0, sigmaMean: 0, n: 0, updateMs: 0, envMs: 0, envStepsTimed: 0, updatesTimed: 0 };

  constructor(
    private readonly env: Env,
    readonly seed: number,
    config: SacConfig,
    kind: string,
  ) {
    this.kind = kind;
    this.config = config;
    const { observationSpace, actionSpace } = env.spec;
    if (actionSpace.kind !== 'box') throw new ValidationError(`${kind} needs a Box action space; ${env.spec.id} has ${actionSpace.kind}`);
    this.obsSize = observationSpace.size;
    this.actSize = (actionSpace as Box).size;
    this.targetEntropy = -this.actSize;
    this.scaling = actionScalingFor(actionSpace);
    this.rng = new Rng(seed);
    const initRng = this.rng.fork();
    this.nets = new SacNetworks(config, this.obsSize, this.actSize, initRng);
    const c = config;
    this.actorOpt = new Adam(this.nets.actor.vars, { lr: c.policyLr, simd: true });
    // SAC: both critics' stacked variables (nn/grouped-mlp.ts); STAC: its one critic. Both Adams
    // step in float32 wasm SIMD where the backend is wasm (as PyTorch's float32 Adam; nn/simd.ts).
    this.criticOpt = new Adam(this.nets.critic.vars, { lr: c.qLr, simd: true });
    // log α starts at 0 (α = 1), as CleanRL and SB3 do; trained with the critic's learning rate.
    this.logAlpha = new ScalarAdam(c.autotune ? 0 : Math.log(Math.max(c.alpha, 1e-30)), c.qLr);
    this.buffer = new ReplayBuffer(c.bufferSize, this.obsSize, this.actSize);
    this.normalizer = c.normalizeObs ? new RunningNormalizer(this.obsSize) : null;
  }

  get alpha(): number {
    return this.config.autotune ? Math.exp(this.logAlpha.value) : this.config.alpha;
  }

  // ------------------------------------------------------------------ interaction

  private startEpisode(): void {
    this.obs = this.env.reset({ seed: trainEpisodeSeed(this.seed, this.episodeIndex) }).obs;
    this.episodeIndex++;
    this.epReturn = 0;
    this.epLength = 0;
  }

  private norm(obs: Float32Array): Float32Array {
    return this.normalizer ? this.normalizer.normalize(obs) : obs;
  }

  /** Stochastic action in [−1, 1] for one observation: tanh(μ + σ·ε). */
  private sampleAction(obs: Float32Array): Float32Array {
    const A = this.actSize;
    const eps = Float32Array.from({ length: A }, () => this.rng.normal());
    if (!this.config.dropout) {
      // Acting without tensors: the actor's weights in a JS forward pass, copied once per actor
      // update (dropout nets keep the tfjs path: their masks draw from the learner's Rng).
      this.actorRunner ??= new NetworkRunner(this.nets.actor.spec, this.nets.actor.getWeights());
      const out = this.actorRunner.forward(this.norm(obs));
      const { logStdMin: lo, logStdMax: hi } = this.config;
      const a = new Float32Array(A);
      for (let i = 0; i < A; i++) {
        const logStd = lo + 0.5 * (hi - lo) * (Math.tanh(out[A + i]) + 1);
        a[i] = Math.tanh(out[i] + Math.exp(logStd) * eps[i]);
      }
      return a;
    }
    return tf.tidy(() => {
      const out = this.nets.actor.apply(tf.tensor2d(this.norm(obs), [1, this.obsSize]), this.trainRng(), { noGrad: true });
      const { mean, logStd } = this.nets.actorHead(out);
      return tanhGaussianSample(mean, logStd, tf.tensor2d(eps, [1, A])).action.dataSync() as Float32Array;
    });
  }

  private toEnvAction(a: Float32Array): Float32Array {
    if (!this.scaling) return a;
    const { low, high } = this.scaling;
    return a.map((u, i) => low[i] + ((u + 1) / 2) * (high[i] - low[i]));
  }

  /** Dropout masks are drawn from the learner's Rng (bit-exact resume); none when dropout is 0. */
  private trainRng(): Rng | null {
    return this.config.dropout ? this.rng : null;
  }

  /**
   * Interact and learn until envSteps ≥ untilStep. The episode in progress is cut at the end of
   * each call (the next call starts a fresh, seeded episode), so that checkpoints, which the
   * driver takes between calls, never hold an env mid-episode: an uninterrupted run and a
   * resumed one see exactly the same episodes.
   */
  async learn(untilStep: number, hooks: LearnHooks): Promise<void> {
    const c = this.config;
    while (this.envSteps < untilStep) {
      if (!this.obs) this.startEpisode();
      const obs = this.obs!;
      const tEnv = performance.now();
      this.normalizer?.update(obs);
      const action =
        this.envSteps < c.learningStarts
          ? Float32Array.from({ length: this.actSize }, () => this.rng.uniform(-1, 1))
          : this.sampleAction(obs);
      const r = this.env.step(this.toEnvAction(action));
      this.buffer.add(obs, action, r.reward, r.obs, r.terminated);
      this.envSteps++;
      this.epReturn += r.reward;
      this.epLength++;
      if (r.terminated || r.truncated) {
        const ep = r.info.episode as { return: number; length: number; metrics: Record<string, number> } | undefined;
        hooks.episode(this.envSteps, ep ?? { return: this.epReturn, length: this.epLength, metrics: {} });
        this.obs = null;
      } else {
        this.obs = r.obs;
      }
      this.stats.envMs += performance.now() - tEnv;
      this.stats.envStepsTimed++;

      if (this.envSteps > c.learningStarts) {
        const tUp = performance.now();
        for (let u = 0; u < c.updatesPerStep; u++) this.update();
        this.stats.updateMs += performance.now() - tUp;
        this.stats.updatesTimed += c.updatesPerStep;
      }
      if (this.envSteps % c.logEvery === 0) this.flushLog(hooks);
      // Let the event loop breathe (progress bar, signals) without costing a timer per step.
      if (this.envSteps % 200 === 0) await new Promise((res) => setImmediate(res));
    }
    this.obs = null; // cut the episode at the boundary (see above)
  }

  private flushLog(hooks: LearnHooks): void {
    const s = this.stats;
    const figures: Record<string, number> = {
      envStepsPerSec: s.envStepsTimed / Math.max(1e-9, (s.envMs + s.updateMs) / 1000),
      alpha: this.alpha,
      bufferSize: this.buffer.size,
      updates: this.updates,
    };
    if (s.updatesTimed) figures.updatesPerSec = s.updatesTimed / (s.updateMs / 1000);
    if (s.n) {
      figures.criticLoss = s.criticLoss / s.n;
      figures.qMean = s.qMean / s.n;
      if (this.config.critic === 'distributional') figures.sigmaMean = s.sigmaMean / s.n;
    }
    if (s.entropy) {
      figures.actorLoss = s.actorLoss;
      figures.entropy = s.entropy;
    }
    hooks.log(this.envSteps, figures);
    Object.assign(this.stats, { criticLoss: 0, qMean: 0, sigmaMean: 0, n: 0, updateMs: 0, envMs: 0, envStepsTimed: 0, updatesTimed: 0 });
  }

  // ------------------------------------------------------------------ the update

  private get updateParts(): SacUpdateParts {
    return {
      config: this.config,
      nets: this.nets,
      actorOpt: this.actorOpt,
      criticOpt: this.criticOpt,
      logAlpha: this.logAlpha,
      rng: this.rng,
      dropoutRng: this.trainRng(),
      targetEntropy: this.targetEntropy,
      alpha: () => this.alpha,
    };
  }

  /** One gradient update (update.ts) on a fresh minibatch. */
  update(): void {
    const B = this.config.batchSize;
    this.batch = this.buffer.sample(this.rng, B, this.batch ?? undefined);
    const b = this.batch;
    if (this.normalizer) {
      for (let k = 0; k < B; k++) {
        const o = this.obsSize;
        this.normalizer.normalize(b.obs.subarray(k * o, (k + 1) * o), b.obs.subarray(k * o, (k + 1) * o));
        this.normalizer.normalize(b.nextObs.subarray(k * o, (k + 1) * o), b.nextObs.subarray(k * o, (k + 1) * o));
      }
    }
    this.updates++;
    const f = sacUpdate(this.updateParts, b, this.updates);
    if (f.actor) {
      this.actorRunner = null; // the acting copy is stale
      this.stats.actorLoss = f.actor.loss;
      this.stats.entropy = f.actor.entropy;
    }
    this.stats.criticLoss += f.criticLoss;
    this.stats.qMean += f.qMean;
    this.stats.sigmaMean += f.sigmaMean;
    this.stats.n++;
  }

  // ------------------------------------------------------------------ evaluation, policy

  evalController(): PolicyController {
    return new PolicyController({
      kind: this.kind,
      network: { spec: this.nets.actor.spec, weights: this.nets.actor.getWeights() },
      head: 'tanh-gaussian-mean',
      actionSize: this.actSize,
      normalizer: this.normalizer,
      actionScaling: this.scaling,
    });
  }

  async exportPolicy(dir: string, meta: ExportMeta): Promise<void> {
    await savePolicy(dir, {
      kind: this.kind,
      taskId: meta.taskId,
      scene: meta.scene,
      observationSpace: this.env.spec.observationSpace,
      actionSpace: this.env.spec.actionSpace,
      network: { spec: this.nets.actor.spec, weights: this.nets.actor.getWeights() },
      head: 'tanh-gaussian-mean',
      normalizer: this.normalizer,
      actionScaling: this.scaling,
      runId: meta.runId,
      task: meta.task,
      extra: { envSteps: this.envSteps, updates: this.updates, config: this.config },
    });
  }

  // ------------------------------------------------------------------ checkpoints

  private get checkpointParts(): SacCheckpointParts {
    const { kind, config, seed, nets, actorOpt, criticOpt, logAlpha, rng, normalizer, buffer } = this;
    return { kind, config, seed, nets, actorOpt, criticOpt, logAlpha, rng, normalizer, buffer };
  }

  async saveCheckpoint(dir: string, faults?: CheckpointFaults): Promise<void> {
    saveSacCheckpoint(dir, this.checkpointParts, { envSteps: this.envSteps, updates: this.updates, episodeIndex: this.episodeIndex }, faults);
  }

  async loadCheckpoint(dir: string): Promise<void> {
    const counters = loadSacCheckpoint(dir, this.checkpointParts);
    this.envSteps = counters.envSteps;
    this.updates = counters.updates;
    this.episodeIndex = counters.episodeIndex;
    this.actorRunner = null;
    this.obs = null;
  }

  /** Every trainable weight (for tests comparing runs bit for bit). */
  weights(): Float32Array[] {
    return [...this.nets.actor.getWeights(), ...this.nets.critic.getWeights()];
  }

  dispose(): void {
    this.nets.dispose();
    this.actorOpt.dispose();
    this.criticOpt.dispose();
    this.env.close();
  }
}

/** The registry's factory: `sac` (twin critics) and `stac` (distributional critic). */
export function createSacLearner(kind: 'sac' | 'stac') {
  return async (opts: LearnerOptions): Promise<SacLearner> => {
    await initBackend((opts.config.backend as string | undefined) ?? undefined);
    const config = parseSacConfig(opts.config, kind);
    const env = await opts.makeEnv(opts.seed);
    return new SacLearner(env, opts.seed, config, kind);
  };
}
