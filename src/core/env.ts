import type { RngState } from './rng.js';
import type { Space } from './spaces.js';

/**
 * The Env contract, with Gymnasium's semantics (gymnasium/core.py).
 *
 * - `reset({seed})` starts an episode. With a seed, the episode is fixed bit for bit;
 *   without one, the env continues its own seeded stream.
 * - `step(action)` advances one control period.
 *   - `terminated`: the episode reached a terminal state of the MDP (goal reached, crash,
 *     battery empty). Bootstrapping from the next state is wrong.
 *   - `truncated`: the episode was cut for a reason outside the MDP, such as the time
 *     limit. The next state still has value; a time limit is never a termination.
 */
export type Action = Float32Array | number;

export interface EnvSpec {
  /** Task id, e.g. "uav-data-collection" or "Pendulum-v1". */
  id: string;
  /** Scene name the env was built from. */
  scene: string;
  observationSpace: Space;
  actionSpace: Space;
  /** Seconds between two `step` calls. */
  controlPeriod: number;
  /** Steps after which the episode is truncated. */
  maxEpisodeSteps: number;
}

export type Info = Record<string, unknown>;

export interface ResetResult {
  obs: Float32Array;
  info: Info;
}

export interface StepResult {
  obs: Float32Array;
  reward: number;
  terminated: boolean;
  truncated: boolean;
  info: Info;
}

export interface Env {
  readonly spec: EnvSpec;
  reset(options?: { seed?: number }): ResetResult;
  step(action: Action): StepResult;
  /** Free native resources (Rapier worlds). The env is unusable afterwards. */
  close(): void;
  /**
   * Mid-episode save and restore, for envs that offer it (`canRestore`). `setState(getState())`
   * followed by the same actions gives the same steps, bit for bit, as Gymnasium's
   * state-restoring wrappers promise. The state is JSON-safe (checkpoints store it).
   */
  readonly canRestore?: boolean;
  getState?(): EnvState;
  setState?(state: EnvState): void;
}

/** Everything an env needs to continue an episode exactly: RNG stream, task state, counters. */
export interface EnvState {
  rng: { s: RngState; spare: number | null };
  /** The task's own state (JSON-safe; the field name is the one checkpoints have always stored). */
  state: unknown;
  steps: number;
  episodeReturn: number;
  lastReward: number;
}

/** Per-episode figures every env reports in `info.episode` on the last step, as SB3's Monitor does. */
export interface EpisodeStats {
  return: number;
  length: number;
  /** Task metrics, e.g. Mbit collected or success. */
  metrics: Record<string, number>;
}
