/**
 * Proximal Policy Optimization (Schulman et al. 2017, arXiv 1707.06347), in the shape of
 * CleanRL's ppo.py / ppo_continuous_action.py and with Stable-Baselines3's details where the
 * rl-baselines3-zoo hyper-parameters depend on them:
 *
 *   repeat:
 *     1. roll out numSteps × numEnvs transitions with π_old (SyncVectorEnv, same-step autoreset)
 *     2. advantages by GAE (gae.ts), bootstrapping from V(final obs) on truncation
 *     3. nEpochs passes of shuffled minibatches: clipped surrogate + value loss − entropy bonus
 *        (loss.ts), global grad-norm clip, Adam
 *
 * Actions: Discrete → Categorical over logits; Box → Gaussian with a state-independent log-std
 * (the sample is clipped to [−1, 1] for the env; its log-prob is of the unclipped sample, as SB3).
 * Separate actor and critic MLPs (SB3's MlpPolicy for PPO), orthogonal init (gains √2, 0.01, 1).
 * Every random draw (init, sampling, shuffles) comes from one seeded Rng, so a checkpoint holds
 * the whole state and resume is bit-exact.
 */
import * as tf from '@tensorflow/tfjs';
import type { Controller } from '../../src/core/controller.js';
import type { Action, EpisodeStats } from '../../src/core/env.js';
import { ValidationError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import type { Space } from '../../src/core/spaces.js';
import { SyncVectorEnv } from '../../src/core/vector-env.js';
import { initBackend } from '../backend.js';
import { unknownConfigKeys, type LearnHooks, type Learner, type LearnerOptions, type ExportMeta } from '../learner.js';
import { Adam, categoricalEntropy, categoricalLogProb, categoricalSample, flatten, gaussianEntropy, gaussianLogProb, initWeights, Mlp, unflatten } from '../nn/index.js';
import { actionScalingFor, savePolicy } from '../policy/artifact.js';
import { PolicyController } from '../policy/controller.js';
import { mlpSpec } from '../policy/network.js';
import { RunningNormalizer, type NormalizerState } from '../policy/normalizer.js';
import { readCheckpointFiles, writeCheckpointFiles } from '../checkpoint/checkpoint-io.js';
import type { CheckpointFaults } from '../checkpoint/manifest.js';
import { type PpoConfig, PpoConfigSchema } from './config.js';
import { canSnapshot, restartSeed, restoreEnv, snapshotEnv, type EnvSnapshot } from '../checkpoint/env-snapshot.js';
import { computeGae } from './gae.js';
import { ppoLoss } from './loss.js';

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);
let uid = 0;

/** Hyper-parameters from the merged config: the driver's keys are skipped; unknown keys and bad values throw. */
export function parsePpoConfig(raw: Record<string, unknown>): PpoConfig {
  const known = Object.keys(PpoConfigSchema.shape);
  const unknown = unknownConfigKeys(raw, known);
  if (unknown.length) throw new ValidationError(`ppo config: unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')}; known: ${known.join(', ')}`);
  const picked: Record<string, unknown> = {};
  for (const k of known) if (raw[k] !== undefined) picked[k] = raw[k];
  // The driver's --steps sets the schedule length unless the config names it.
  if (picked.totalSteps === undefined && typeof raw.steps === 'number') picked.totalSteps = raw.steps;
  const res = PpoConfigSchema.safeParse(picked);
  if (!res.success) {
    const issues = res.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    throw new ValidationError(`ppo config: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues);
  }
  return res.data;
}

export class PpoLearner implements Learner {
  readonly kind = 'ppo';
  get hyperparameters(): PpoConfig {
    return this.cfg;
  }
  get stepsPerIteration(): number {
    return this.cfg.numSteps * this.vec.numEnvs;
  }
  envSteps = 0;
  /** Gradient steps taken so far. */
  updates = 0;
  private readonly rng: Rng;
  readonly actor: Mlp;
  readonly critic: Mlp;
  /** Box only: the state-independent log standard deviation, shape [A]. */
  readonly logStd: tf.Variable | null;
  readonly optimizer: Adam;
  normalizer: RunningNormalizer | null;
  private readonly discrete: boolean;
  /** Box action size, or the number of discrete actions. */
  private readonly actionSize: number;
  private readonly obsSize: number;
  /** Raw observations of the N envs, row-major. */
  private obs: Float32Array;
  /** Whether the envs were restored mid-episode on the last loadCheckpoint. */
  envsRestored = true;
  /** False when some env cannot be snapshotted: episodes then restart at every learn() boundary. */
  readonly envsSnapshotable: boolean;

  // Rollout storage, index t·N + i (obs and actions have an extra trailing dimension).
  private readonly buf: {
    obs: Float32Array;
    actions: Float32Array;
    logp: Float32Array;
    values: Float32Array;
    rewards: Float32Array;
    terminated: Uint8Array;
    truncated: Uint8Array;
    truncationValues: Float32Array;
  };

  constructor(
    readonly vec: SyncVectorEnv,
    readonly cfg: PpoConfig,
    readonly seed: number,
  ) {
    const spec = vec.spec;
    const act: Space = spec.actionSpace;
    this.discrete = act.kind === 'discrete';
    this.actionSize = act.kind === 'discrete' ? act.n : act.size;
    this.obsSize = spec.observationSpace.size;
    this.rng = new Rng(seed);
    const initRng = this.rng.fork();
    const nLayers = cfg.hidden.length;
    const hiddenGains = Array<number>(nLayers).fill(Math.SQRT2);
    const actorSpec = mlpSpec({ inputSize: this.obsSize, hidden: cfg.hidden, outputSize: this.actionSize, activation: cfg.activation });
    const criticSpec = mlpSpec({ inputSize: this.obsSize, hidden: cfg.hidden, outputSize: 1, activation: cfg.activation });
    this.actor = new Mlp(actorSpec, initWeights(actorSpec, initRng, { kind: 'orthogonal', gains: [...hiddenGains, 0.01] }), 'ppo-actor');
    this.critic = new Mlp(criticSpec, initWeights(criticSpec, initRng, { kind: 'orthogonal', gains: [...hiddenGains, 1] }), 'ppo-critic');
    this.logStd = this.discrete ? null : tf.variable(tf.fill([this.actionSize], cfg.logStdInit), true, `ppo-logstd-${uid++}`);
    const params = [...this.actor.vars, ...this.critic.vars, ...(this.logStd ? [this.logStd] : [])];
    this.optimizer = new Adam(params, { lr: cfg.learningRate, eps: cfg.adamEpsilon, maxGradNorm: cfg.maxGradNorm });
    this.normalizer = cfg.normalizeObs ? new RunningNormalizer(this.obsSize, cfg.obsClip) : null;

    const T = cfg.numSteps;
    const N = vec.numEnvs;
    const A = this.discrete ? 1 : this.actionSize;
    this.buf = {
      obs: new Float32Array(T * N * this.obsSize),
      actions: new Float32Array(T * N * A),
      logp: new Float32Array(T * N),
      values: new Float32Array(T * N),
      rewards: new Float32Array(T * N),
      terminated: new Uint8Array(T * N),
      truncated: new Uint8Array(T * N),
      truncationValues: new Float32Array(T * N),
    };
    this.obs = vec.reset({ seed }).obs;
    this.observe(this.obs);
    this.envsSnapshotable = vec.envs.every(canSnapshot);
  }

  /** End every episode in progress (see env-snapshot.ts): only when the envs cannot be snapshotted. */
  private restartEpisodes(): void {
    this.obs = this.vec.reset({ seed: restartSeed(this.seed, this.envSteps) }).obs;
    this.observe(this.obs);
  }

  /** Feed new raw observations to the running normaliser (SB3 VecNormalize updates on every new obs). */
  private observe(rows: Float32Array): void {
    this.normalizer?.updateRows(rows);
  }

  private normalizeRows(rows: Float32Array): Float32Array {
    return this.normalizer ? this.normalizer.normalizeRows(rows) : rows.slice();
  }

  /** Actor output and V for a batch of normalised observations. */
  private forward(x: Float32Array, withActor: boolean): { out: Float32Array | null; values: Float32Array } {
    const n = x.length / this.obsSize;
    const xt = tf.tensor2d(x, [n, this.obsSize]);
    const out = withActor ? tf.tidy(() => this.actor.apply(xt)) : null;
    const v = tf.tidy(() => this.critic.apply(xt));
    const res = { out: out ? (out.dataSync() as Float32Array) : null, values: v.dataSync() as Float32Array };
    tf.dispose(out ? [xt, out, v] : [xt, v]);
    return res;
  }

  async learn(untilStep: number, hooks: LearnHooks): Promise<void> {
    const start = this.envSteps;
    while (this.envSteps < untilStep) {
      const t0 = performance.now();
      this.collectRollout(hooks);
      const t1 = performance.now();
      const figures = this.update();
      const t2 = performance.now();
      const rolloutSteps = this.cfg.numSteps * this.vec.numEnvs;
      hooks.log(this.envSteps, {
        ...figures,
        envStepsPerSec: rolloutSteps / ((t1 - t0) / 1000),
        updatesPerSec: (this.cfg.nEpochs * Math.ceil(rolloutSteps / this.cfg.batchSize)) / ((t2 - t1) / 1000),
        stepsPerSec: rolloutSteps / ((t2 - t0) / 1000),
      });
      // Let the event loop breathe (progress bars, signals) between iterations.
      await new Promise((r) => setImmediate(r));
    }
    if (!this.envsSnapshotable && this.envSteps > start) this.restartEpisodes();
  }

  /** Step 1: numSteps × numEnvs transitions with the current policy. */
  private collectRollout(hooks: LearnHooks): void {
    const { numSteps: T } = this.cfg;
    const N = this.vec.numEnvs;
    const D = this.obsSize;
    const A = this.discrete ? 1 : this.actionSize;
    const b = this.buf;
    const logStd = this.logStd ? Float64Array.from(this.logStd.dataSync() as Float32Array) : null;
    b.truncationValues.fill(0);
    for (let t = 0; t < T; t++) {
      const x = this.normalizeRows(this.obs);
      b.obs.set(x, t * N * D);
      const { out, values } = this.forward(x, true);
      const actions: Action[] = [];
      if (this.discrete) {
        const k = this.actionSize;
        const u = Float64Array.from({ length: N }, () => this.rng.next());
        const chosen = categoricalSample(out!, N, k, u);
        for (let i = 0; i < N; i++) {
          const a = chosen[i];
          // log π(a) = logit_a − logsumexp(logits)
          let max = -Infinity;
          for (let j = 0; j < k; j++) max = Math.max(max, out![i * k + j]);
          let z = 0;
          for (let j = 0; j < k; j++) z += Math.exp(out![i * k + j] - max);
          b.logp[t * N + i] = out![i * k + a] - max - Math.log(z);
          b.actions[t * N + i] = a;
          actions.push(a);
        }
      } else {
        for (let i = 0; i < N; i++) {
          const envAction = new Float32Array(A);
          let logp = 0;
          for (let j = 0; j < A; j++) {
            const eps = this.rng.normal();
            const a = out![i * A + j] + Math.exp(logStd![j]) * eps;
            b.actions[(t * N + i) * A + j] = a;
            // Log-density at the stored float32 action, as the update will recompute it.
            const zf = (Math.fround(a) - out![i * A + j]) / Math.exp(logStd![j]);
            logp += -0.5 * zf * zf - logStd![j] - HALF_LOG_2PI;
            envAction[j] = Math.min(1, Math.max(-1, a));
          }
          b.logp[t * N + i] = logp;
          actions.push(envAction);
        }
      }
      b.values.set(values, t * N);
      const res = this.vec.step(actions);
      this.envSteps += N;
      b.rewards.set(res.rewards, t * N);
      b.terminated.set(res.terminated, t * N);
      b.truncated.set(res.truncated, t * N);
      const truncatedEnvs: number[] = [];
      for (let i = 0; i < N; i++) {
        if (res.truncated[i] && !res.terminated[i]) truncatedEnvs.push(i);
        if (res.terminated[i] || res.truncated[i]) {
          const stats = (res.infos[i].finalInfo as { episode?: EpisodeStats } | undefined)?.episode;
          if (stats) hooks.episode(this.envSteps, stats);
        }
      }
      if (truncatedEnvs.length) {
        // Time limit: the final observation still has value; bootstrap from it (normalised, no update).
        const finals = new Float32Array(truncatedEnvs.length * D);
        truncatedEnvs.forEach((i, r) => finals.set(this.normalizeRows(res.infos[i].finalObs as Float32Array), r * D));
        const { values: vFinal } = this.forward(finals, false);
        truncatedEnvs.forEach((i, r) => (b.truncationValues[t * N + i] = vFinal[r]));
      }
      this.obs = res.obs;
      this.observe(this.obs);
    }
  }

  private schedule(value: number, kind: 'constant' | 'linear'): number {
    if (kind === 'constant') return value;
    // SB3's progress_remaining, taken after the rollout: 1 at the start, 0 at totalSteps.
    return value * Math.max(0, 1 - this.envSteps / this.cfg.totalSteps);
  }

  /** Steps 2 and 3: GAE, then nEpochs of minibatch updates. Returns the figures to log. */
  private update(): Record<string, number> {
    const cfg = this.cfg;
    const N = this.vec.numEnvs;
    const T = cfg.numSteps;
    const B = T * N;
    const D = this.obsSize;
    const b = this.buf;
    const { values: lastValues } = this.forward(this.normalizeRows(this.obs), false);
    const { advantages, returns } = computeGae({
      numSteps: T,
      numEnvs: N,
      rewards: b.rewards,
      values: b.values,
      terminated: b.terminated,
      truncated: b.truncated,
      truncationValues: b.truncationValues,
      lastValues,
      gamma: cfg.gamma,
      lambda: cfg.gaeLambda,
    });
    const lr = this.schedule(cfg.learningRate, cfg.lrSchedule);
    const clipRange = this.schedule(cfg.clipRange, cfg.clipSchedule);
    this.optimizer.lr = lr;

    const obsT = tf.tensor2d(b.obs, [B, D]);
    const actT = this.discrete ? tf.tensor1d(Int32Array.from(b.actions), 'int32') : tf.tensor2d(b.actions, [B, this.actionSize]);
    const oldLogpT = tf.tensor1d(b.logp);
    const advT = tf.tensor1d(advantages);
    const retT = tf.tensor1d(returns);
    const oldVT = tf.tensor1d(b.values);
    const params = this.optimizer.vars;
    const parts: tf.Tensor[] = [];
    let gradNormSum = 0;
    let steps = 0;
    const indices = Array.from({ length: B }, (_, i) => i);
    for (let epoch = 0; epoch < cfg.nEpochs; epoch++) {
      this.rng.shuffle(indices);
      for (let start = 0; start < B; start += cfg.batchSize) {
        const idx = tf.tensor1d(indices.slice(start, start + cfg.batchSize), 'int32');
        const { value, grads } = tf.variableGrads(() => {
          const x = tf.gather(obsT, idx) as tf.Tensor2D;
          const a = tf.gather(actT, idx);
          const out = this.actor.apply(x);
          let newLogp: tf.Tensor1D;
          let entropy: tf.Tensor1D;
          if (this.discrete) {
            newLogp = categoricalLogProb(out, a as tf.Tensor1D);
            entropy = categoricalEntropy(out);
          } else {
            const ls = tf.mul(tf.onesLike(out), this.logStd!) as tf.Tensor2D;
            newLogp = gaussianLogProb(a as tf.Tensor2D, out, ls);
            entropy = gaussianEntropy(ls);
          }
          const newValues = tf.reshape(this.critic.apply(x), [-1]) as tf.Tensor1D;
          const l = ppoLoss(
            {
              newLogp,
              oldLogp: tf.gather(oldLogpT, idx) as tf.Tensor1D,
              advantages: tf.gather(advT, idx) as tf.Tensor1D,
              newValues,
              oldValues: tf.gather(oldVT, idx) as tf.Tensor1D,
              returns: tf.gather(retT, idx) as tf.Tensor1D,
              entropy,
            },
            { clipRange, clipRangeVf: cfg.clipRangeVf, normalizeAdvantage: cfg.normalizeAdvantage, entCoef: cfg.entCoef, vfCoef: cfg.vfCoef },
          );
          parts.push(tf.keep(tf.stack([l.policyLoss, l.valueLoss, l.entropy, l.approxKl, l.clipFraction])));
          return l.loss;
        }, params);
        const gradList = params.map((v) => grads[v.name]);
        gradNormSum += this.optimizer.step(gradList);
        steps++;
        this.updates++;
        tf.dispose([value, idx, ...gradList]);
      }
    }
    tf.dispose([obsT, actT, oldLogpT, advT, retT, oldVT]);
    const sums = new Float64Array(5);
    for (const p of parts) {
      const d = p.dataSync();
      for (let k = 0; k < 5; k++) sums[k] += d[k];
    }
    tf.dispose(parts);
    // Explained variance of the rollout's values w.r.t. the returns (1 is perfect, ≤ 0 is useless).
    let mr = 0;
    for (let i = 0; i < B; i++) mr += returns[i];
    mr /= B;
    let varR = 0;
    let varE = 0;
    let me = 0;
    for (let i = 0; i < B; i++) me += returns[i] - b.values[i];
    me /= B;
    for (let i = 0; i < B; i++) {
      varR += (returns[i] - mr) ** 2;
      varE += (returns[i] - b.values[i] - me) ** 2;
    }
    const figures: Record<string, number> = {
      policyLoss: sums[0] / steps,
      valueLoss: sums[1] / steps,
      entropy: sums[2] / steps,
      approxKl: sums[3] / steps,
      clipFraction: sums[4] / steps,
      explainedVariance: varR > 0 ? 1 - varE / varR : 0,
      gradNorm: gradNormSum / steps,
      learningRate: lr,
      clipRange,
    };
    if (this.logStd) figures.std = Math.exp((this.logStd.dataSync() as Float32Array)[0]);
    return figures;
  }

  private get head() {
    return this.discrete ? ('categorical-argmax' as const) : ('gaussian-mean' as const);
  }

  evalController(): Controller {
    return new PolicyController({
      kind: 'ppo',
      network: { spec: this.actor.spec, weights: this.actor.getWeights() },
      head: this.head,
      actionSize: this.actionSize,
      normalizer: this.normalizer,
      actionScaling: actionScalingFor(this.vec.spec.actionSpace),
    });
  }

  async exportPolicy(dir: string, meta: ExportMeta): Promise<void> {
    const spec = this.vec.spec;
    await savePolicy(dir, {
      kind: 'ppo',
      taskId: meta.taskId,
      scene: meta.scene,
      observationSpace: spec.observationSpace,
      actionSpace: spec.actionSpace,
      network: { spec: this.actor.spec, weights: this.actor.getWeights() },
      head: this.head,
      normalizer: this.normalizer,
      runId: meta.runId,
      task: meta.task,
      extra: { envSteps: this.envSteps, config: this.cfg },
    });
  }

  async saveCheckpoint(dir: string, faults?: CheckpointFaults): Promise<void> {
    const adam = this.optimizer.getState();
    const envs = this.vec.envs.map((e) => snapshotEnv(e));
    const state = {
      kind: 'ppo',
      version: 1,
      envSteps: this.envSteps,
      updates: this.updates,
      seed: this.seed,
      numEnvs: this.vec.numEnvs,
      config: this.cfg,
      rng: this.rng.getState(),
      normalizer: this.normalizer ? this.normalizer.toJSON() : null,
      adamT: adam.t,
      envs,
    };
    const arrays = {
      actor: flatten(this.actor.getWeights()),
      critic: flatten(this.critic.getWeights()),
      logStd: this.logStd ? Float32Array.from(this.logStd.dataSync() as Float32Array) : new Float32Array(0),
      adamM: flatten(adam.m),
      adamV: flatten(adam.v),
      obs: this.obs,
    };
    writeCheckpointFiles(dir, state, arrays, faults);
  }

  async loadCheckpoint(dir: string): Promise<void> {
    const { state, arrays } = readCheckpointFiles(dir);
    if (state.kind !== 'ppo') throw new ValidationError(`${dir}: checkpoint of a "${String(state.kind)}" learner, not ppo`);
    if (state.numEnvs !== this.vec.numEnvs) throw new ValidationError(`${dir}: checkpoint has ${state.numEnvs} envs, this learner ${this.vec.numEnvs}`);
    const sizes = (m: Mlp) => m.vars.map((v) => v.size);
    this.actor.setWeights(unflatten(arrays.actor as Float32Array, sizes(this.actor)));
    this.critic.setWeights(unflatten(arrays.critic as Float32Array, sizes(this.critic)));
    if (this.logStd) {
      const t = tf.tensor1d(arrays.logStd as Float32Array);
      this.logStd.assign(t);
      t.dispose();
    }
    const all = this.optimizer.vars.map((v) => v.size);
    this.optimizer.setState({
      t: state.adamT as number,
      m: unflatten(arrays.adamM as Float32Array, all),
      v: unflatten(arrays.adamV as Float32Array, all),
    });
    this.envSteps = state.envSteps as number;
    this.updates = state.updates as number;
    this.rng.setState(state.rng as ReturnType<Rng['getState']>);
    this.normalizer = state.normalizer ? RunningNormalizer.fromJSON(state.normalizer as NormalizerState) : null;
    const snaps = state.envs as (EnvSnapshot | null)[];
    this.envsRestored = snaps.every((s, i) => s !== null && restoreEnv(this.vec.envs[i], s));
    if (this.envsRestored) {
      this.obs = (arrays.obs as Float32Array).slice();
    } else {
      // The run restarted its episodes when this checkpoint was taken (end of learn()); do the
      // same reset. The normaliser already holds those observations.
      this.obs = this.vec.reset({ seed: restartSeed(state.seed as number, this.envSteps) }).obs;
    }
  }

  dispose(): void {
    this.actor.dispose();
    this.critic.dispose();
    this.logStd?.dispose();
    this.vec.close();
  }
}

/** The LEARNERS factory: builds numEnvs envs (seeds seed … seed + numEnvs − 1) and the learner. */
export async function createPpo(opts: LearnerOptions): Promise<PpoLearner> {
  await initBackend(typeof opts.config.backend === 'string' ? opts.config.backend : undefined);
  const cfg = parsePpoConfig(opts.config);
  const envs = [];
  for (let i = 0; i < cfg.numEnvs; i++) envs.push(await opts.makeEnv(opts.seed + i));
  return new PpoLearner(new SyncVectorEnv(envs), cfg, opts.seed);
}
