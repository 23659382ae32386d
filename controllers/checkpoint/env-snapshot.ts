import type { Env } from '../../src/core/env.js';
import type { RngState } from '../../src/core/rng.js';
import { TaskEnv } from '../../sim/task-env.js';

/**
 * Mid-episode env state for bit-exact resume. The Env contract has no save/restore, so this
 * reaches into TaskEnv's fields; it works when the task's SimBackend offers `setState(state)`
 * with a JSON-safe state (the classic tasks do). Otherwise `snapshotEnv` returns null, and the
 * learners fall back to the training driver's convention: they end the episodes in progress at
 * the end of every learn() call (restartSeed), in uninterrupted and resumed runs alike, so resume
 * stays bit-exact at the cost of cutting episodes at evaluation points.
 */
export interface EnvSnapshot {
  rng: { s: RngState; spare: number | null };
  state: unknown;
  steps: number;
  episodeReturn: number;
  lastReward: number;
}

interface TaskEnvInternals {
  rng: { getState(): EnvSnapshot['rng']; setState(s: EnvSnapshot['rng']): void };
  current: unknown;
  steps: number;
  episodeReturn: number;
  lastReward: number;
}

/** Whether `env` can be snapshotted mid-episode (a TaskEnv whose backend has setState). */
export function canSnapshot(env: Env): boolean {
  return restorable(env);
}

/**
 * Seed for restarting every episode at a learn() boundary, when the envs cannot be snapshotted:
 * a function of (run seed, env steps) only, so the uninterrupted and the resumed run agree.
 */
export function restartSeed(seed: number, envSteps: number): number {
  return ((seed * 2_654_435_761) ^ (envSteps * 40_503)) >>> 0;
}

function restorable(env: Env): env is TaskEnv {
  return env instanceof TaskEnv && typeof (env.bundle.backend as { setState?: unknown }).setState === 'function';
}

export function snapshotEnv(env: Env): EnvSnapshot | null {
  if (!restorable(env)) return null;
  const e = env as unknown as TaskEnvInternals;
  if (e.current === null) return null;
  return {
    rng: e.rng.getState(),
    state: JSON.parse(JSON.stringify(e.current)),
    steps: e.steps,
    episodeReturn: e.episodeReturn,
    lastReward: e.lastReward,
  };
}

/** Put `env` back into a snapshot's state; false when this env cannot be restored. */
export function restoreEnv(env: Env, snap: EnvSnapshot): boolean {
  if (!restorable(env)) return false;
  const e = env as unknown as TaskEnvInternals;
  const backend = env.bundle.backend as unknown as { setState(s: unknown): unknown };
  e.current = backend.setState(snap.state);
  e.rng.setState(snap.rng);
  e.steps = snap.steps;
  e.episodeReturn = snap.episodeReturn;
  e.lastReward = snap.lastReward;
  return true;
}
