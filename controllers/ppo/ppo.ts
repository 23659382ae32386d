/**
 * Proximal Policy Optimization (Schulman et al. 2017, arXiv 1707.06347), in the shape of
 * CleanRL's ppo.py / ppo_continuous_action.py and with Stable-Baselines3's details where the
 * rl-baselines3-zoo hyper-parameters depend on them:
 *
 *   repeat:
 *     1. roll out numSteps × numEnvs transitions with π_old (rollout.ts; SyncVectorEnv or, with
 *        vectorEnv "async", AsyncVectorEnv in worker threads; same-step autoreset either way)
 *     2. advantages by GAE (gae.ts), bootstrapping from V(final obs) on truncation
 *     3. nEpochs passes of shuffled minibatches: clipped surrogate + value loss − entropy bonus
 *        (update.ts, loss.ts), global grad-norm clip, Adam
 *
 * Networks and the action distribution: nets.ts. Every random draw (init, sampling, shuffles)
 * comes from one seeded Rng, so a checkpoint holds the whole state and resume is bit-exact.
 */
import * as tf from '@tensorflow/tfjs';
import type { Controller } from '../../src/core/controller.js';
import { ValidationError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import { initBackend } from '../backend.js';
import type { LearnHooks, Learner, LearnerOptions, ExportMeta } from '../learner.js';
import { Adam, flatten, unflatten, type Mlp } from '../nn/index.js';
import { actionScalingFor, savePolicy } from '../policy/artifact.js';
import { PolicyController } from '../policy/controller.js';
import { RunningNormalizer, type NormalizerState } from '../policy/normalizer.js';
import { readCheckpointFiles, writeCheckpointFiles } from '../checkpoint/checkpoint-io.js';
import type { CheckpointFaults } from '../checkpoint/manifest.js';
import { restartSeed, type EnvSnapshot } from '../checkpoint/env-snapshot.js';
import { type PpoConfig, parsePpoConfig } from './config.js';
import { PpoNets } from './nets.js';
import { allocRollout, collectRollout, normalizeRows, observe, type RolloutBuffer } from './rollout.js';
import { ppoUpdate } from './update.js';
import { createVectorEnv, restoreVec, snapshotVec, vecCanSnapshot, type PpoVectorEnv } from './vec.js';

export { parsePpoConfig };

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
  readonly nets: PpoNets;
  readonly optimizer: Adam;
  normalizer: RunningNormalizer | null;
  /** Raw observations of the N envs, row-major. */
  private obs: Float32Array;
  /** Whether the envs were restored mid-episode on the last loadCheckpoint. */
  envsRestored = true;
  /** False when some env cannot be snapshotted: episodes then restart at every learn() boundary. */
  readonly envsSnapshotable: boolean;

  private readonly buf: RolloutBuffer;

  constructor(
    readonly vec: PpoVectorEnv,
    readonly cfg: PpoConfig,
    readonly seed: number,
  ) {
    const spec = vec.spec;
    this.rng = new Rng(seed);
    this.nets = new PpoNets(spec.observationSpace.size, spec.actionSpace, cfg, this.rng.fork());
    this.optimizer = new Adam(this.nets.params, { lr: cfg.learningRate, eps: cfg.adamEpsilon, maxGradNorm: cfg.maxGradNorm });
    this.normalizer = cfg.normalizeObs ? new RunningNormalizer(spec.observationSpace.size, cfg.obsClip) : null;
    this.buf = allocRollout(cfg.numSteps, vec.numEnvs, this.nets.obsSize, this.nets.actionWidth);
    this.obs = vec.reset({ seed }).obs;
    observe(this.normalizer, this.obs);
    this.envsSnapshotable = vecCanSnapshot(vec);
  }

  get actor(): Mlp {
    return this.nets.actor;
  }

  get critic(): Mlp {
    return this.nets.critic;
  }

  get logStd(): tf.Variable | null {
    return this.nets.logStd;
  }

  /** End every episode in progress (see env-snapshot.ts): only when the envs cannot be snapshotted. */
  private restartEpisodes(): void {
    this.obs = this.vec.reset({ seed: restartSeed(this.seed, this.envSteps) }).obs;
    observe(this.normalizer, this.obs);
  }

  async learn(untilStep: number, hooks: LearnHooks): Promise<void> {
    const start = this.envSteps;
    while (this.envSteps < untilStep) {
      const t0 = performance.now();
      const next = await collectRollout({
        vec: this.vec,
        nets: this.nets,
        rng: this.rng,
        normalizer: this.normalizer,
        buf: this.buf,
        numSteps: this.cfg.numSteps,
        obs: this.obs,
        envSteps: this.envSteps,
        hooks,
      });
      this.obs = next.obs;
      this.envSteps = next.envSteps;
      const t1 = performance.now();
      const { values: lastValues } = this.nets.forward(normalizeRows(this.normalizer, this.obs), false);
      const { figures, steps } = ppoUpdate({
        nets: this.nets,
        optimizer: this.optimizer,
        rng: this.rng,
        cfg: this.cfg,
        buf: this.buf,
        numEnvs: this.vec.numEnvs,
        lastValues,
        lr: this.schedule(this.cfg.learningRate, this.cfg.lrSchedule),
        clipRange: this.schedule(this.cfg.clipRange, this.cfg.clipSchedule),
      });
      this.updates += steps;
      const t2 = performance.now();
      const rolloutSteps = this.cfg.numSteps * this.vec.numEnvs;
      hooks.log(this.envSteps, {
        ...figures,
        rolloutSteps,
        envStepsPerSec: rolloutSteps / ((t1 - t0) / 1000),
        updatesPerSec: steps / ((t2 - t1) / 1000),
        stepsPerSec: rolloutSteps / ((t2 - t0) / 1000),
      });
      // Let the event loop breathe (progress bars, signals) between iterations.
      await new Promise((r) => setImmediate(r));
    }
    if (!this.envsSnapshotable && this.envSteps > start) this.restartEpisodes();
  }

  private schedule(value: number, kind: 'constant' | 'linear'): number {
    if (kind === 'constant') return value;
    // SB3's progress_remaining, taken after the rollout: 1 at the start, 0 at totalSteps.
    return value * Math.max(0, 1 - this.envSteps / this.cfg.totalSteps);
  }

  private get head() {
    return this.nets.discrete ? ('categorical-argmax' as const) : ('gaussian-mean' as const);
  }

  evalController(): Controller {
    return new PolicyController({
      kind: 'ppo',
      network: { spec: this.actor.spec, weights: this.actor.getWeights() },
      head: this.head,
      actionSize: this.nets.actionSize,
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
    const envs = snapshotVec(this.vec);
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
    this.envsRestored = restoreVec(this.vec, snaps);
    if (this.envsRestored) {
      this.obs = (arrays.obs as Float32Array).slice();
    } else {
      // The run restarted its episodes when this checkpoint was taken (end of learn()); do the
      // same reset. The normaliser already holds those observations.
      this.obs = this.vec.reset({ seed: restartSeed(state.seed as number, this.envSteps) }).obs;
    }
  }

  dispose(): void {
    this.nets.dispose();
    this.vec.close();
  }
}

/** The LEARNERS factory: builds numEnvs envs (seeds seed … seed + numEnvs − 1, sync or in worker threads) and the learner. */
export async function createPpo(opts: LearnerOptions): Promise<PpoLearner> {
  await initBackend(typeof opts.config.backend === 'string' ? opts.config.backend : undefined);
  const cfg = parsePpoConfig(opts.config);
  return new PpoLearner(await createVectorEnv(opts, cfg), cfg, opts.seed);
}
