/**
 * Soft Actor-Critic (Haarnoja et al. 2018, "Soft Actor-Critic Algorithms and Applications"), read
 * like CleanRL's sac_continuous_action.py, with the STAC variant ("Stochastic Actor-Critic",
 * Özalp; code ugurcanozalp/rl-warehouse algos/stac.py): one critic that outputs Normal(μ, σ),
 * trained by Gaussian NLL against y = r + γ(1−d)(μ′ − β·σ′ − α·log π(a′|s′)).
 *
 * Tensor plumbing (variables, kernels, Adam) lives in controllers/nn so the update below maps
 * line by line onto the equations: target → critic loss → actor loss → temperature → soft update.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import type { Env } from '../../src/core/env.js';
import { ValidationError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import type { Box } from '../../src/core/spaces.js';
import { initBackend } from '../backend.js';
import { unknownConfigKeys, type LearnHooks, type Learner, type LearnerOptions, type ExportMeta } from '../learner.js';
import { readCheckpointFiles, writeCheckpointFiles } from '../checkpoint/checkpoint-io.js';
import type { CheckpointFaults } from '../checkpoint/manifest.js';
import { Adam, flatten, ScalarAdam, gaussianNll, initWeights, Mlp, softUpdate, tanhGaussianSample } from '../nn/index.js';
import { actionScalingFor, savePolicy } from '../policy/artifact.js';
import { PolicyController } from '../policy/controller.js';
import { mlpSpec, NetworkRunner } from '../policy/network.js';
import { RunningNormalizer, type NormalizerState } from '../policy/normalizer.js';
import { ReplayBuffer, type Batch } from '../replay/replay-buffer.js';

// ---------------------------------------------------------------------------------------------
// Hyper-parameters (defaults: CleanRL sac_continuous_action.py; STAC: REFERENCES.md "STAC")
// ---------------------------------------------------------------------------------------------
export const SacConfigSchema = z.object({
  /** "twin": SAC's two Q critics (min of both); "distributional": STAC's one Normal(μ, σ) critic. */
  critic: z.enum(['twin', 'distributional']).default('twin'),
  /** Discount factor γ. */
  gamma: z.number().min(0).max(1).default(0.99),
  /** Target smoothing coefficient τ (Polyak). */
  tau: z.number().min(0).max(1).default(0.005),
  /** Minibatch size of each gradient update. */
  batchSize: z.number().int().positive().default(256),
  /** Replay buffer capacity, in transitions. */
  bufferSize: z.number().int().positive().default(1_000_000),
  /** Env steps of uniform random actions before learning starts. */
  learningStarts: z.number().int().nonnegative().default(5000),
  /** Gradient updates per env step. */
  updatesPerStep: z.number().int().positive().default(1),
  /** Actor learning rate. */
  policyLr: z.number().positive().default(3e-4),
  /** Critic (and temperature) learning rate. */
  qLr: z.number().positive().default(1e-3),
  /** Actor/temperature update every this many critic updates (done that many times, TD3-style delay). */
  policyFrequency: z.number().int().positive().default(2),
  /** Soft-update the target critic every this many critic updates. */
  targetNetworkFrequency: z.number().int().positive().default(1),
  /** Entropy coefficient α when not tuned. */
  alpha: z.number().nonnegative().default(0.2),
  /** Tune α automatically towards the target entropy −|A|. */
  autotune: z.boolean().default(true),
  /** Hidden layer widths of actor and critic. */
  hidden: z.array(z.number().int().positive()).default([256, 256]),
  /** STAC: pessimism β in μ − β·σ. */
  beta: z.number().default(0.25),
  /** Dropout rate in actor and critic hidden layers (STAC default 0.01; SAC 0). */
  dropout: z.number().min(0).max(0.9).optional(),
  /** LayerNorm after dropout in hidden layers (STAC default true; SAC false). */
  layerNorm: z.boolean().optional(),
  /** Bounds of the actor's log σ (CleanRL: tanh-rescaled into [−5, 2]). */
  logStdMin: z.number().default(-5),
  logStdMax: z.number().default(2),
  /** Running observation normalisation (frozen at evaluation, saved with the policy). */
  normalizeObs: z.boolean().default(false),
  /** Log losses and speeds every this many env steps. */
  logEvery: z.number().int().positive().default(1000),
});
export type SacConfig = z.infer<typeof SacConfigSchema>;

export function parseSacConfig(raw: Record<string, unknown>, kind: 'sac' | 'stac'): SacConfig {
  const known = new Set(Object.keys(SacConfigSchema.shape));
  const unknown = unknownConfigKeys(raw, known);
  if (unknown.length) throw new ValidationError(`${kind} config: unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')}; known: ${[...known].join(', ')}`);
  const mine = Object.fromEntries(Object.entries(raw).filter(([k]) => known.has(k)));
  if (kind === 'stac') mine.critic ??= 'distributional';
  const parsed = SacConfigSchema.safeParse(mine);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    throw new ValidationError(`${kind} config: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues);
  }
  const c = parsed.data;
  const stac = c.critic === 'distributional';
  return { ...c, dropout: c.dropout ?? (stac ? 0.01 : 0), layerNorm: c.layerNorm ?? stac };
}

/** What state.json of a SAC/STAC checkpoint holds beside its arrays (tensors, replay). */
type SacCheckpointState = {
  format: string;
  kind: string;
  config: SacConfig;
  seed: number;
  envSteps: number;
  updates: number;
  episodeIndex: number;
  rng: ReturnType<Rng['getState']>;
  actorOptT: number;
  criticOptT: number;
  logAlpha: ReturnType<ScalarAdam['getState']>;
  normalizer: NormalizerState | null;
  buffer: { pos: number; size: number };
  tensorSizes: number[];
};

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
  private readonly actor: Mlp;
  private readonly critics: Mlp[];
  private readonly targets: Mlp[];
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
    const c = config;
    const hiddenOpts = { hidden: c.hidden, dropout: c.dropout, layerNorm: c.layerNorm };
    const actorSpec = mlpSpec({ inputSize: this.obsSize, outputSize: 2 * this.actSize, ...hiddenOpts });
    const criticOut = c.critic === 'twin' ? 1 : 2;
    const criticSpec = mlpSpec({ inputSize: this.obsSize + this.actSize, outputSize: criticOut, ...hiddenOpts });
    this.actor = new Mlp(actorSpec, initWeights(actorSpec, initRng), 'actor');
    const nCritics = c.critic === 'twin' ? 2 : 1;
    this.critics = Array.from({ length: nCritics }, (_, i) => new Mlp(criticSpec, initWeights(criticSpec, initRng), `q${i + 1}`));
    this.targets = this.critics.map((q, i) => new Mlp(criticSpec, q.getWeights(), `q${i + 1}_target`));
    this.actorOpt = new Adam(this.actor.vars, { lr: c.policyLr });
    this.criticOpt = new Adam(
      this.critics.flatMap((q) => q.vars),
      { lr: c.qLr },
    );
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
      this.actorRunner ??= new NetworkRunner(this.actor.spec, this.actor.getWeights());
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
      const out = this.actor.apply(tf.tensor2d(this.norm(obs), [1, this.obsSize]), this.trainRng(), { noGrad: true });
      const { mean, logStd } = this.actorHead(out);
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

  // ------------------------------------------------------------------ networks

  /** Split the actor output into mean and log σ; log σ is tanh-squashed into [min, max] (CleanRL). */
  private actorHead(out: tf.Tensor2D): { mean: tf.Tensor2D; logStd: tf.Tensor2D } {
    const A = this.actSize;
    const { logStdMin: lo, logStdMax: hi } = this.config;
    const [mean, raw] = tf.split(out, [A, A], 1) as [tf.Tensor2D, tf.Tensor2D];
    const logStd = tf.add(lo, tf.mul(0.5 * (hi - lo), tf.add(tf.tanh(raw), 1))) as tf.Tensor2D;
    return { mean, logStd };
  }

  /** Sample a′ ~ π(·|s) with reparameterisation; noise from our Rng. */
  private policySample(obs: tf.Tensor2D, noGrad = false): { action: tf.Tensor2D; logProb: tf.Tensor1D } {
    const n = obs.shape[0];
    const noise = new Float32Array(n * this.actSize);
    for (let i = 0; i < noise.length; i++) noise[i] = this.rng.normal();
    const eps = tf.tensor2d(noise, [n, this.actSize]);
    const { mean, logStd } = this.actorHead(this.actor.apply(obs, this.trainRng(), { noGrad }));
    return tanhGaussianSample(mean, logStd, eps);
  }

  /** STAC critic head: μ and σ = softplus(max(raw, −5)). */
  private normalHead(out: tf.Tensor2D): { mu: tf.Tensor1D; sigma: tf.Tensor1D } {
    const [mu, raw] = tf.split(out, [1, 1], 1);
    return { mu: tf.reshape(mu, [-1]) as tf.Tensor1D, sigma: tf.reshape(tf.softplus(tf.maximum(raw, -5)), [-1]) as tf.Tensor1D };
  }

  private criticInput(obs: tf.Tensor2D, action: tf.Tensor2D): tf.Tensor2D {
    return tf.concat([obs, action], 1);
  }

  /**
   * The value the actor maximises and the target bootstraps from, for critics `nets`:
   * SAC: min(Q1, Q2); STAC: μ − β·σ.
   */
  private pessimisticValue(nets: Mlp[], sa: tf.Tensor2D, noGrad = false, frozen = false): { value: tf.Tensor1D; mu: tf.Tensor1D; sigma?: tf.Tensor1D } {
    if (this.config.critic === 'twin') {
      const [q1, q2] = nets.map((q) => tf.reshape(q.apply(sa, null, { noGrad, frozen }), [-1]) as tf.Tensor1D);
      return { value: tf.minimum(q1, q2), mu: q1 };
    }
    const { mu, sigma } = this.normalHead(nets[0].apply(sa, this.trainRng(), { noGrad, frozen }));
    return { value: tf.sub(mu, tf.mul(this.config.beta, sigma)), mu, sigma };
  }

  // ------------------------------------------------------------------ the update

  update(): void {
    const c = this.config;
    const B = c.batchSize;
    this.batch = this.buffer.sample(this.rng, B, this.batch ?? undefined);
    const b = this.batch;
    if (this.normalizer) {
      for (let k = 0; k < B; k++) {
        const o = this.obsSize;
        this.normalizer.normalize(b.obs.subarray(k * o, (k + 1) * o), b.obs.subarray(k * o, (k + 1) * o));
        this.normalizer.normalize(b.nextObs.subarray(k * o, (k + 1) * o), b.nextObs.subarray(k * o, (k + 1) * o));
      }
    }
    const obs = tf.tensor2d(b.obs, [B, this.obsSize]);
    const actions = tf.tensor2d(b.actions, [B, this.actSize]);
    const rewards = tf.tensor1d(b.rewards);
    const nextObs = tf.tensor2d(b.nextObs, [B, this.obsSize]);
    const dones = tf.tensor1d(b.dones);
    const alpha = this.alpha;

    // 1. Target: y = r + γ(1 − d)·(V(s′, a′) − α·log π(a′|s′)), a′ ~ π(·|s′), V from the target critic(s).
    const y = tf.tidy(() => {
      const next = this.policySample(nextObs, true);
      const { value } = this.pessimisticValue(this.targets, this.criticInput(nextObs, next.action), true);
      const soft = tf.sub(value, tf.mul(alpha, next.logProb));
      return tf.add(rewards, tf.mul(tf.mul(c.gamma, tf.sub(1, dones)), soft));
    });

    // 2. Critic loss. SAC: Σ_i MSE(Q_i(s, a), y). STAC: Gaussian NLL −log N(y; μ, σ).
    const criticVars = this.criticOpt.vars;
    let qMean = 0;
    let sigmaMean = 0;
    const critic = tf.variableGrads(() => {
      const sa = this.criticInput(obs, actions);
      if (c.critic === 'twin') {
        const qs = this.critics.map((q) => tf.reshape(q.apply(sa), [-1]));
        qMean = tf.mean(qs[0]).dataSync()[0];
        return tf.addN(qs.map((q) => tf.mean(tf.squaredDifference(q, y)))) as tf.Scalar;
      }
      const { mu, sigma } = this.normalHead(this.critics[0].apply(sa, this.trainRng()));
      qMean = tf.mean(mu).dataSync()[0];
      sigmaMean = tf.mean(sigma).dataSync()[0];
      return tf.mean(gaussianNll(y, mu, sigma)) as tf.Scalar;
    }, criticVars);
    const criticGrads = criticVars.map((v) => critic.grads[v.name]);
    this.criticOpt.step(criticGrads);
    const criticLoss = critic.value.dataSync()[0];
    tf.dispose([critic.value, ...criticGrads, y]);
    this.updates++;

    // 3. Actor loss: E[α·log π(ã|s) − V(s, ã)], ã reparameterised; then 4. temperature.
    if (this.updates % c.policyFrequency === 0) {
      for (let k = 0; k < c.policyFrequency; k++) {
        let logProbMean = 0;
        const actorStep = tf.variableGrads(() => {
          const { action, logProb } = this.policySample(obs);
          // The critics are constants here: only ∂V/∂a flows (their weight gradients are not needed).
          const { value } = this.pessimisticValue(this.critics, this.criticInput(obs, action), false, true);
          logProbMean = tf.mean(logProb).dataSync()[0];
          return tf.mean(tf.sub(tf.mul(this.alpha, logProb), value)) as tf.Scalar;
        }, this.actor.vars);
        const actorGrads = this.actor.vars.map((v) => actorStep.grads[v.name]);
        this.actorOpt.step(actorGrads);
        this.actorRunner = null; // the acting copy is stale
        this.stats.actorLoss = actorStep.value.dataSync()[0];
        this.stats.entropy = -logProbMean;
        tf.dispose([actorStep.value, ...actorGrads]);
        // 4. Temperature: J(α) = E[−α·(log π + H̄)], so ∂J/∂log α = −α·(E[log π] + H̄).
        if (c.autotune) this.logAlpha.step(-Math.exp(this.logAlpha.value) * (logProbMean + this.targetEntropy));
      }
    }

    // 5. Soft update of the target critic(s).
    if (this.updates % c.targetNetworkFrequency === 0) {
      this.critics.forEach((q, i) => softUpdate(this.targets[i], q, c.tau));
    }
    tf.dispose([obs, actions, rewards, nextObs, dones]);
    this.stats.criticLoss += criticLoss;
    this.stats.qMean += qMean;
    this.stats.sigmaMean += sigmaMean;
    this.stats.n++;
  }

  // ------------------------------------------------------------------ evaluation, policy

  evalController(): PolicyController {
    return new PolicyController({
      kind: this.kind,
      network: { spec: this.actor.spec, weights: this.actor.getWeights() },
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
      network: { spec: this.actor.spec, weights: this.actor.getWeights() },
      head: 'tanh-gaussian-mean',
      normalizer: this.normalizer,
      actionScaling: this.scaling,
      runId: meta.runId,
      task: meta.task,
      extra: { envSteps: this.envSteps, updates: this.updates, config: this.config },
    });
  }

  // ------------------------------------------------------------------ checkpoints

  /** All networks and optimiser moments, in a fixed order, as float32 arrays. */
  private tensorState(): Float32Array[] {
    const a = this.actorOpt.getState();
    const q = this.criticOpt.getState();
    return [
      ...this.actor.getWeights(),
      ...this.critics.flatMap((n) => n.getWeights()),
      ...this.targets.flatMap((n) => n.getWeights()),
      ...a.m,
      ...a.v,
      ...q.m,
      ...q.v,
    ];
  }

  async saveCheckpoint(dir: string, faults?: CheckpointFaults): Promise<void> {
    const tensors = this.tensorState();
    const state: SacCheckpointState = {
      format: 'embody.sac-checkpoint/2',
      kind: this.kind,
      config: this.config,
      seed: this.seed,
      envSteps: this.envSteps,
      updates: this.updates,
      episodeIndex: this.episodeIndex,
      rng: this.rng.getState(),
      actorOptT: this.actorOpt.getState().t,
      criticOptT: this.criticOpt.getState().t,
      logAlpha: this.logAlpha.getState(),
      normalizer: this.normalizer?.toJSON() ?? null,
      buffer: { pos: this.buffer.pos, size: this.buffer.size },
      tensorSizes: tensors.map((t) => t.length),
    };
    writeCheckpointFiles(dir, state, { tensors: flatten(tensors), replay: this.buffer.serialize() }, faults);
  }

  async loadCheckpoint(dir: string): Promise<void> {
    const { state: raw, arrays } = readCheckpointFiles(dir);
    const state = raw as unknown as SacCheckpointState; // written by saveCheckpoint above, verified by its manifest
    if (state.format !== 'embody.sac-checkpoint/2') throw new ValidationError(`${dir}: not a SAC checkpoint (format ${state.format})`);
    if (state.kind !== this.kind) throw new ValidationError(`${dir}: checkpoint of ${state.kind}, learner is ${this.kind}`);
    const flat = arrays.tensors as Float32Array;
    const sizes: number[] = state.tensorSizes;
    const expected = this.tensorState().map((t) => t.length);
    if (sizes.length !== expected.length || sizes.some((n, i) => n !== expected[i])) {
      throw new ValidationError(`${dir}: checkpoint network shapes differ from this learner's config`);
    }
    let off = 0;
    const take = () => {
      const n = sizes.shift()!;
      const a = flat.slice(off, off + n);
      off += n;
      return a;
    };
    const takeN = (k: number) => Array.from({ length: k }, take);
    this.actor.setWeights(takeN(this.actor.vars.length));
    this.actorRunner = null;
    for (const q of this.critics) q.setWeights(takeN(q.vars.length));
    for (const q of this.targets) q.setWeights(takeN(q.vars.length));
    const na = this.actor.vars.length;
    const nq = this.criticOpt.vars.length;
    const am = takeN(na);
    const av = takeN(na);
    this.actorOpt.setState({ t: state.actorOptT, m: am, v: av });
    const qm = takeN(nq);
    const qv = takeN(nq);
    this.criticOpt.setState({ t: state.criticOptT, m: qm, v: qv });
    this.logAlpha.setState(state.logAlpha);
    this.envSteps = state.envSteps;
    this.updates = state.updates;
    this.episodeIndex = state.episodeIndex;
    this.rng.setState(state.rng);
    if (this.normalizer && state.normalizer) {
      const n = RunningNormalizer.fromJSON(state.normalizer);
      this.normalizer.count = n.count;
      this.normalizer.mean.set(n.mean);
      this.normalizer.var.set(n.var);
    }
    this.buffer.load(arrays.replay as Uint8Array, state.buffer);
    this.obs = null;
  }

  /** Every trainable weight (for tests comparing runs bit for bit). */
  weights(): Float32Array[] {
    return [...this.actor.getWeights(), ...this.critics.flatMap((q) => q.getWeights())];
  }

  dispose(): void {
    this.actor.dispose();
    this.critics.forEach((q) => q.dispose());
    this.targets.forEach((q) => q.dispose());
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
