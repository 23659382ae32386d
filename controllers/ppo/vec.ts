import { AsyncVectorEnv } from '../../src/core/async-vector-env.js';
import type { EnvState } from '../../src/core/env.js';
import { ValidationError } from '../../src/core/errors.js';
import { SyncVectorEnv, type VectorEnv } from '../../src/core/vector-env.js';
import { canSnapshot, restoreEnv, snapshotEnv, type EnvSnapshot } from '../checkpoint/env-snapshot.js';
import { workerEnvFactoryOf, type LearnerOptions } from '../learner.js';
import type { PpoConfig } from './config.js';

/** The rollout's vector env: in this thread, or in worker threads (same autoreset, same trajectories). */
export type PpoVectorEnv = SyncVectorEnv | AsyncVectorEnv;

/**
 * numEnvs envs with seeds seed … seed + numEnvs − 1, as `cfg.vectorEnv` asks. "async" needs the
 * driver's env factory in a form a worker thread can import (controllers/learner.ts
 * `withWorkerEnvFactory`): a closure cannot cross a thread.
 */
export async function createVectorEnv(opts: LearnerOptions, cfg: PpoConfig): Promise<PpoVectorEnv> {
  if (cfg.vectorEnv === 'async') {
    const factory = workerEnvFactoryOf(opts.makeEnv);
    if (!factory) throw new ValidationError('ppo config: vectorEnv "async" needs an env factory that worker threads can import; this caller gave only a closure (use vectorEnv "sync")');
    const args = Array.from({ length: cfg.numEnvs }, (_, i) => factory.args(opts.seed + i));
    return AsyncVectorEnv.create({ module: factory.module, exportName: factory.exportName, args }, cfg.vecWorkers === null ? {} : { workers: cfg.vecWorkers });
  }
  const envs = [];
  for (let i = 0; i < cfg.numEnvs; i++) envs.push(await opts.makeEnv(opts.seed + i));
  return new SyncVectorEnv(envs);
}

/** Whether every env can be saved mid-episode (else episodes restart at learn() boundaries). */
export function vecCanSnapshot(vec: PpoVectorEnv): boolean {
  return vec instanceof AsyncVectorEnv ? vec.canRestore : vec.envs.every(canSnapshot);
}

/** Each env's mid-episode state, or null where there is none (controllers/checkpoint/env-snapshot.ts). */
export function snapshotVec(vec: PpoVectorEnv): (EnvSnapshot | null)[] {
  return vec instanceof AsyncVectorEnv ? vec.getStates() : vec.envs.map((e) => snapshotEnv(e));
}

/** Restore every env from `snaps`; false (and nothing restored) when some env has no snapshot or cannot restore. */
export function restoreVec(vec: PpoVectorEnv, snaps: (EnvSnapshot | null)[]): boolean {
  if (snaps.length !== vec.numEnvs || snaps.some((s) => s === null) || !vecCanSnapshot(vec)) return false;
  if (vec instanceof AsyncVectorEnv) vec.setStates(snaps as EnvState[]);
  else snaps.forEach((s, i) => restoreEnv(vec.envs[i], s!));
  return true;
}

export type { VectorEnv };
