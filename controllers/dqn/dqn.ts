/**
 * Double DQN (van Hasselt, Guez & Silver 2016, "Deep Reinforcement Learning with Double
 * Q-learning"; DQN: Mnih et al. 2015) for Discrete actions, in the shape of CleanRL's dqn.py with
 * Stable-Baselines3's loop, which the rl-baselines3-zoo hyper-parameters assume:
 *
 *   every env step:  a = random (before learningStarts) or ε-greedy on Q_online; store (s, a, r, s′, terminated)
 *                    every targetUpdateInterval env steps: θ′ ← τθ + (1 − τ)θ′
 *                    ε decays linearly from explorationInitialEps to explorationFinalEps over
 *                    explorationFraction · totalSteps
 *   every trainFreq steps (after learningStarts): gradientSteps × {
 *                    y = r + γ(1 − terminated)·Q_target(s′, argmax_a Q_online(s′, a))
 *                    Huber(Q_online(s, a), y), grad-norm clip, Adam }
 *
 * The buffer holds raw observations (normalised when sampled, if normalizeObs).
 * On truncation the stored s′ is the real final observation (infos.finalObs) and the transition
 * is not terminal, so the time limit is bootstrapped through. Every random draw comes from one
 * seeded Rng; checkpoints hold the replay buffer, Adam and Rng, so resume is bit-exact.
 */
import * as tf from '@tensorflow/tfjs';
import type { Controller } from '../../src/core/controller.js';
import type { EpisodeStats } from '../../src/core/env.js';
import { ContractError, ValidationError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import { SyncVectorEnv } from '../../src/core/vector-env.js';
import { initBackend } from '../backend.js';
import { unknownConfigKeys, type LearnHooks, type Learner, type LearnerOptions, type ExportMeta } from '../learner.js';
import { Adam, flatten, unflatten } from '../nn/index.js';
import { savePolicy } from '../policy/artifact.js';
import { PolicyController } from '../policy/controller.js';
import { RunningNormalizer, type NormalizerState } from '../policy/normalizer.js';
import { readCheckpointFiles, writeCheckpointFiles } from '../checkpoint/checkpoint-io.js';
import type { CheckpointFaults } from '../checkpoint/manifest.js';
import { canSnapshot, restartSeed, restoreEnv, snapshotEnv, type EnvSnapshot } from '../checkpoint/env-snapshot.js';
import { type Batch, ReplayBuffer } from '../replay/replay-buffer.js';
import { type DqnConfig, DqnConfigSchema } from './config.js';
import { dqnTargets, huberLoss, QNetwork } from './q-network.js';

export function parseDqnConfig(raw: Record<string, unknown>): DqnConfig {
  const unknown = unknownConfigKeys(raw, Object.keys(DqnConfigSchema.shape));
  if (unknown.length) throw new ValidationError(`dqn config: unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')}; known: ${Object.keys(DqnConfigSchema.shape).join(', ')}`);
  const picked: Record<string, unknown> = {};
  for (const k of Object.keys(DqnConfigSchema.shape)) if (raw[k] !== undefined) picked[k] = raw[k];
  if (picked.totalSteps === undefined && typeof raw.steps === 'number') picked.totalSteps = raw.steps;
  const res = DqnConfigSchema.safeParse(picked);
  if (!res.success) {
    const issues = res.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    throw new ValidationError(`dqn config: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues);
  }
  return res.data;
}

/** SB3's get_linear_fn: start → end over the first `fraction` of training, then flat. */
export function linearEpsilon(step: number, cfg: Pick<DqnConfig, 'totalSteps' | 'explorationFraction' | 'explorationInitialEps' | 'explorationFinalEps'>): number {
  const progress = step / cfg.totalSteps;
  if (cfg.explorationFraction === 0 || progress > cfg.explorationFraction) return cfg.explorationFinalEps;
  return cfg.explorationInitialEps + (progress * (cfg.explorationFinalEps - cfg.explorationInitialEps)) / cfg.explorationFraction;
}

export class DqnLearner implements Learner {
  get hyperparameters(): DqnConfig {
    return this.cfg;
  }
  readonly kind = 'dqn';
  envSteps = 0;
  /** Vector-env steps (calls to vec.step), SB3's _n_calls. */
  private calls = 0;
  updates = 0;
  private readonly rng: Rng;
  readonly qnet: QNetwork;
  readonly optimizer: Adam;
  readonly buffer: ReplayBuffer;
  normalizer: RunningNormalizer | null;
  private readonly obsSize: number;
  private readonly numActions: number;
  private obs: Float32Array;
  private batch: Batch | undefined;
  private stepsSinceTrain = 0;
  envsRestored = true;
  /** False when some env cannot be snapshotted: episodes then restart at every learn() boundary. */
  readonly envsSnapshotable: boolean;
  // Figures accumulated between logs.
  private lossSum = 0;
  private qSum = 0;
  private lossCount = 0;
  private trainSeconds = 0;
  private envSeconds = 0;
  private lastLogStep = 0;

  constructor(
    readonly vec: SyncVectorEnv,
    readonly cfg: DqnConfig,
    readonly seed: number,
  ) {
    const act = vec.spec.actionSpace;
    if (act.kind !== 'discrete') throw new ContractError(`dqn needs a Discrete action space; ${vec.spec.id} has a Box (use sac or ppo)`);
    this.numActions = act.n;
    this.obsSize = vec.spec.observationSpace.size;
    this.rng = new Rng(seed);
    this.qnet = new QNetwork(this.obsSize, this.numActions, cfg.hidden, cfg.activation, this.rng.fork());
    this.optimizer = new Adam(this.qnet.online.vars, { lr: cfg.learningRate, eps: cfg.adamEpsilon, maxGradNorm: cfg.maxGradNorm });
    this.buffer = new ReplayBuffer(cfg.bufferSize, this.obsSize, 1);
    this.normalizer = cfg.normalizeObs ? new RunningNormalizer(this.obsSize, cfg.obsClip) : null;
    this.obs = vec.reset({ seed }).obs;
    this.observe(this.obs);
    this.envsSnapshotable = vec.envs.every(canSnapshot);
  }

  /** End every episode in progress (see env-snapshot.ts): only when the envs cannot be snapshotted. */
  private restartEpisodes(): void {
    this.obs = this.vec.reset({ seed: restartSeed(this.seed, this.envSteps) }).obs;
    this.observe(this.obs);
  }

  private observe(rows: Float32Array): void {
    this.normalizer?.updateRows(rows);
  }

  private normalizeRows(rows: Float32Array): Float32Array {
    return this.normalizer ? this.normalizer.normalizeRows(rows) : rows.slice();
  }

  get epsilon(): number {
    return linearEpsilon(this.envSteps, this.cfg);
  }

  async learn(untilStep: number, hooks: LearnHooks): Promise<void> {
    const cfg = this.cfg;
    const N = this.vec.numEnvs;
    const D = this.obsSize;
    const start = this.envSteps;
    while (this.envSteps < untilStep) {
      const t0 = performance.now();
      const x = this.normalizeRows(this.obs);
      // Random before learningStarts; ε-greedy after (one uniform per env decides, as SB3 does per batch).
      let actions: number[];
      if (this.envSteps < cfg.learningStarts) {
        actions = Array.from({ length: N }, () => this.rng.int(this.numActions));
      } else {
        const explore = this.rng.next() < this.epsilon;
        actions = explore ? Array.from({ length: N }, () => this.rng.int(this.numActions)) : Array.from(this.qnet.greedy(x, N));
      }
      const res = this.vec.step(actions);
      this.envSteps += N;
      this.calls += 1;
      if (this.calls % Math.max(Math.floor(cfg.targetUpdateInterval / N), 1) === 0) this.qnet.updateTarget(cfg.tau);
      for (let i = 0; i < N; i++) {
        const ended = res.terminated[i] || res.truncated[i];
        // s′ is the real final observation when the env was reset in this step.
        const nextRaw = ended ? (res.infos[i].finalObs as Float32Array) : res.obs.subarray(i * D, (i + 1) * D);
        // Raw observations go into the buffer; they are normalised with the current statistics
        // when sampled (as SB3 does with VecNormalize), so old transitions never go stale.
        this.buffer.add(this.obs.subarray(i * D, (i + 1) * D), [actions[i]], res.rewards[i], nextRaw, res.terminated[i] === 1);
        if (ended) {
          const stats = (res.infos[i].finalInfo as { episode?: EpisodeStats } | undefined)?.episode;
          if (stats) hooks.episode(this.envSteps, stats);
        }
      }
      this.obs = res.obs;
      this.observe(this.obs);
      this.stepsSinceTrain += N;
      const t1 = performance.now();
      this.envSeconds += (t1 - t0) / 1000;
      if (this.calls % cfg.trainFreq === 0 && this.envSteps > cfg.learningStarts) {
        const steps = cfg.gradientSteps === -1 ? this.stepsSinceTrain : cfg.gradientSteps;
        // SB3 updates the learning rate from progress_remaining at the start of each train().
        this.optimizer.lr = cfg.lrSchedule === 'linear' ? cfg.learningRate * Math.max(0, 1 - this.envSteps / cfg.totalSteps) : cfg.learningRate;
        for (let g = 0; g < steps; g++) this.trainStep();
        this.stepsSinceTrain = 0;
        this.trainSeconds += (performance.now() - t1) / 1000;
      }
      if (this.envSteps - this.lastLogStep >= 1000) {
        this.flushLog(hooks);
        await new Promise((r) => setImmediate(r));
      }
    }
    if (!this.envsSnapshotable && this.envSteps > start) this.restartEpisodes();
  }

  private flushLog(hooks: LearnHooks): void {
    const figures: Record<string, number> = {
      epsilon: this.epsilon,
      learningRate: this.optimizer.lr,
      envStepsPerSec: (this.envSteps - this.lastLogStep) / Math.max(this.envSeconds, 1e-9),
    };
    if (this.lossCount > 0) {
      figures.loss = this.lossSum / this.lossCount;
      figures.meanQ = this.qSum / this.lossCount;
      figures.updatesPerSec = this.lossCount / Math.max(this.trainSeconds, 1e-9);
    }
    hooks.log(this.envSteps, figures);
    this.lossSum = this.qSum = this.lossCount = this.trainSeconds = this.envSeconds = 0;
    this.lastLogStep = this.envSteps;
  }

  /** One gradient step on a uniform minibatch. */
  private trainStep(): void {
    const { batchSize, gamma, huberDelta } = this.cfg;
    this.batch = this.buffer.sample(this.rng, batchSize, this.batch);
    const b = this.batch;
    const D = this.obsSize;
    if (this.normalizer) {
      for (let r = 0; r < batchSize; r++) {
        this.normalizer.normalize(b.obs.subarray(r * D, (r + 1) * D), b.obs.subarray(r * D, (r + 1) * D));
        this.normalizer.normalize(b.nextObs.subarray(r * D, (r + 1) * D), b.nextObs.subarray(r * D, (r + 1) * D));
      }
    }
    const obs = tf.tensor2d(b.obs, [batchSize, D]);
    const nextObs = tf.tensor2d(b.nextObs, [batchSize, D]);
    const actions = tf.tensor1d(Int32Array.from(b.actions), 'int32');
    const rewards = tf.tensor1d(b.rewards);
    const dones = tf.tensor1d(b.dones);
    // The target is a constant for the gradient (torch.no_grad()).
    const y = tf.tidy(() =>
      dqnTargets(rewards, dones, this.qnet.target.apply(nextObs), this.cfg.double ? this.qnet.online.apply(nextObs) : null, gamma),
    );
    let qTaken: tf.Tensor | null = null;
    const vars = this.qnet.online.vars;
    const { value, grads } = tf.variableGrads(() => {
      const q = this.qnet.online.apply(obs);
      const taken = tf.sum(tf.mul(q, tf.oneHot(actions, this.numActions)), 1) as tf.Tensor1D;
      qTaken = tf.keep(tf.mean(taken));
      return huberLoss(taken, y, huberDelta);
    }, vars);
    const gradList = vars.map((v) => grads[v.name]);
    this.optimizer.step(gradList);
    this.updates++;
    this.lossSum += value.dataSync()[0];
    this.qSum += (qTaken as unknown as tf.Tensor).dataSync()[0];
    this.lossCount++;
    tf.dispose([obs, nextObs, actions, rewards, dones, y, value, qTaken as unknown as tf.Tensor, ...gradList]);
  }

  evalController(): Controller {
    return new PolicyController({
      kind: 'dqn',
      network: { spec: this.qnet.online.spec, weights: this.qnet.online.getWeights() },
      head: 'q-argmax',
      actionSize: this.numActions,
      normalizer: this.normalizer,
      actionScaling: null,
    });
  }

  async exportPolicy(dir: string, meta: ExportMeta): Promise<void> {
    const spec = this.vec.spec;
    await savePolicy(dir, {
      kind: 'dqn',
      taskId: meta.taskId,
      scene: meta.scene,
      observationSpace: spec.observationSpace,
      actionSpace: spec.actionSpace,
      network: { spec: this.qnet.online.spec, weights: this.qnet.online.getWeights() },
      head: 'q-argmax',
      normalizer: this.normalizer,
      actionScaling: null,
      runId: meta.runId,
      task: meta.task,
      extra: { envSteps: this.envSteps, config: this.cfg },
    });
  }

  async saveCheckpoint(dir: string, faults?: CheckpointFaults): Promise<void> {
    const adam = this.optimizer.getState();
    const state = {
      kind: 'dqn',
      version: 1,
      envSteps: this.envSteps,
      calls: this.calls,
      updates: this.updates,
      stepsSinceTrain: this.stepsSinceTrain,
      seed: this.seed,
      numEnvs: this.vec.numEnvs,
      config: this.cfg,
      rng: this.rng.getState(),
      normalizer: this.normalizer ? this.normalizer.toJSON() : null,
      adamT: adam.t,
      buffer: { pos: this.buffer.pos, size: this.buffer.size },
      envs: this.vec.envs.map((e) => snapshotEnv(e)),
    };
    const arrays = {
      online: flatten(this.qnet.online.getWeights()),
      target: flatten(this.qnet.target.getWeights()),
      adamM: flatten(adam.m),
      adamV: flatten(adam.v),
      obs: this.obs,
      buffer: this.buffer.serialize(),
    };
    writeCheckpointFiles(dir, state, arrays, faults);
  }

  async loadCheckpoint(dir: string): Promise<void> {
    const { state, arrays } = readCheckpointFiles(dir);
    if (state.kind !== 'dqn') throw new ValidationError(`${dir}: checkpoint of a "${String(state.kind)}" learner, not dqn`);
    if (state.numEnvs !== this.vec.numEnvs) throw new ValidationError(`${dir}: checkpoint has ${state.numEnvs} envs, this learner ${this.vec.numEnvs}`);
    const sizes = this.qnet.online.vars.map((v) => v.size);
    this.qnet.online.setWeights(unflatten(arrays.online as Float32Array, sizes));
    this.qnet.target.setWeights(unflatten(arrays.target as Float32Array, sizes));
    this.optimizer.setState({ t: state.adamT as number, m: unflatten(arrays.adamM as Float32Array, sizes), v: unflatten(arrays.adamV as Float32Array, sizes) });
    this.buffer.load(arrays.buffer as Uint8Array, state.buffer as { pos: number; size: number });
    this.envSteps = state.envSteps as number;
    this.calls = state.calls as number;
    this.updates = state.updates as number;
    this.stepsSinceTrain = state.stepsSinceTrain as number;
    this.lastLogStep = this.envSteps;
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
    this.qnet.dispose();
    this.vec.close();
  }
}

export async function createDqn(opts: LearnerOptions): Promise<DqnLearner> {
  await initBackend(typeof opts.config.backend === 'string' ? opts.config.backend : undefined);
  const cfg = parseDqnConfig(opts.config);
  const envs = [];
  for (let i = 0; i < cfg.numEnvs; i++) envs.push(await opts.makeEnv(opts.seed + i));
  return new DqnLearner(new SyncVectorEnv(envs), cfg, opts.seed);
}
