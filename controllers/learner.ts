import type { Controller } from '../src/core/controller.js';
import type { Env } from '../src/core/env.js';
import type { CheckpointFaults } from './checkpoint/manifest.js';
import type { TaskParams } from './policy/manifest.js';

/** What the driver tells a learner about the artifact it exports: run, scene, task, and the task model's parameters. */
export interface ExportMeta {
  runId: string;
  scene: string;
  taskId: string;
  /** Limits, timing and scene configuration (TaskEnv.taskParams); recorded in the manifest's `task`. */
  task?: TaskParams | null;
}

/**
 * What every learner (SAC, STAC, PPO, DQN, DT) offers the training driver
 * (src/experiment/train.ts). The driver owns the run directory, evaluation, logging and
 * checkpoint timing; the learner owns its own interaction loop and update rule.
 */
export interface LearnHooks {
  /** Called by the learner whenever it has figures to log (losses, entropy, updates/s...). */
  log(step: number, figures: Record<string, number>): void;
  /** Called when a training episode ends. */
  episode(step: number, stats: { return: number; length: number; metrics: Record<string, number> }): void;
}

/** What a learner factory is given (LEARNERS in registry.ts names the factories). */
export interface LearnerOptions {
  /** Builds one env per call, seeded by the driver. */
  makeEnv: (seed: number) => Promise<Env>;
  seed: number;
  /** Hyper-parameters, after merging the per-task config file and --config. */
  config: Record<string, unknown>;
}

export interface Learner {
  readonly kind: string;
  /** Env steps taken so far (summed over vector envs). */
  readonly envSteps: number;
  /** The full resolved hyper-parameters (defaults filled in); the driver records them in config.json. */
  readonly hyperparameters?: Readonly<Record<string, unknown>>;
  /** Env steps of one indivisible iteration (PPO: numEnvs × numSteps); the driver rounds totals to a multiple. */
  readonly stepsPerIteration?: number;
  /** Interact and learn until `envSteps >= untilStep`. */
  learn(untilStep: number, hooks: LearnHooks): Promise<void>;
  /** A deterministic controller (mean action, frozen observation normalisation) for evaluation. */
  evalController(): Controller;
  /**
   * Write all state needed for a bit-exact resume as a new checkpoint directory `dir`
   * (controllers/checkpoint/checkpoint-io.ts: temp dir, manifest, rename). `faults` is a test hook.
   */
  saveCheckpoint(dir: string, faults?: CheckpointFaults): Promise<void>;
  /** Restore from `dir`, verifying its manifest first (a clear error names a damaged file). */
  loadCheckpoint(dir: string): Promise<void>;
  /** Write the policy artifact (DESIGN.md, `embody.policy/2`) into `dir`. */
  exportPolicy(dir: string, meta: ExportMeta): Promise<void>;
  dispose(): void;
}

/**
 * Keys of a training config that the driver (src/experiment/train.ts) reads rather than the
 * learner: the one list (learners and the driver both take it from here). A learner rejects any
 * other key it does not know, so a typo in a config file is an error, not a silently ignored setting.
 */
export const DRIVER_CONFIG_KEYS = ['steps', 'evalEvery', 'evalEpisodes', 'backend', '$comment'] as const;
export type DriverConfigKey = (typeof DRIVER_CONFIG_KEYS)[number];

/** The keys of `raw` that neither the learner (`known`) nor the driver uses. */
export function unknownConfigKeys(raw: Record<string, unknown>, known: Iterable<string>): string[] {
  const ok = new Set<string>([...known, ...DRIVER_CONFIG_KEYS]);
  return Object.keys(raw).filter((k) => !ok.has(k));
}

/**
 * How a worker thread builds the same env as the driver's `makeEnv(seed)`: a module, its export
 * and the (structured-cloneable) arguments for one seed (src/core/async-vector-env.ts EnvFactory).
 * A closure cannot cross a thread, so a driver that allows worker-thread envs attaches this to
 * its makeEnv with `withWorkerEnvFactory`.
 */
export interface WorkerEnvFactory {
  module: string | URL;
  exportName: string;
  args(seed: number): unknown[];
}

type MakeEnv = (seed: number) => Promise<Env>;

const workerFactories = new WeakMap<MakeEnv, WorkerEnvFactory>();

/** `makeEnv`, known to be rebuildable in a worker thread by `factory` (same seed ⇒ same env). */
export function withWorkerEnvFactory<F extends MakeEnv>(makeEnv: F, factory: WorkerEnvFactory): F {
  workerFactories.set(makeEnv, factory);
  return makeEnv;
}

/** The worker-thread form of `makeEnv`, or null when it is only a closure. */
export function workerEnvFactoryOf(makeEnv: MakeEnv): WorkerEnvFactory | null {
  return workerFactories.get(makeEnv) ?? null;
}
