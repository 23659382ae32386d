import type { Env, EnvState } from '../../src/core/env.js';

/**
 * Mid-episode env state for bit-exact resume, through the Env contract's own
 * `getState`/`setState` (src/core/env.ts): envs whose simulator can restore a state (the classic
 * tasks) are snapshotted; for the others `snapshotEnv` returns null, and the learners fall back
 * to the training driver's convention: they end the episodes in progress at the end of every
 * learn() call (restartSeed), in uninterrupted and resumed runs alike, so resume stays bit-exact
 * at the cost of cutting episodes at evaluation points.
 */
export type EnvSnapshot = EnvState;

/** Whether `env` can be snapshotted mid-episode. */
export function canSnapshot(env: Env): boolean {
  return env.canRestore === true && typeof env.getState === 'function' && typeof env.setState === 'function';
}

/**
 * Seed for restarting every episode at a learn() boundary, when the envs cannot be snapshotted:
 * a function of (run seed, env steps) only, so the uninterrupted and the resumed run agree.
 */
export function restartSeed(seed: number, envSteps: number): number {
  return ((seed * 2_654_435_761) ^ (envSteps * 40_503)) >>> 0;
}

/** The env's state, or null when it cannot be restored or has not been reset yet. */
export function snapshotEnv(env: Env): EnvSnapshot | null {
  if (!canSnapshot(env)) return null;
  try {
    return env.getState!();
  } catch {
    return null; // not reset yet: nothing to resume
  }
}

/** Put `env` back into a snapshot's state; false when this env cannot be restored. */
export function restoreEnv(env: Env, snap: EnvSnapshot): boolean {
  if (!canSnapshot(env)) return false;
  env.setState!(snap);
  return true;
}
