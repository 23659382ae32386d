import type { Action, Env, EnvSpec, Info, StepResult } from './env.js';
import { ContractError } from './errors.js';

/**
 * N envs stepped together, with same-step autoreset as Stable-Baselines3's VecEnv does:
 * when env i ends, it is reset in the same `step`, its returned observation is the first
 * of the new episode, and the last observation of the ended episode is kept in
 * `infos[i].finalObs` (with `infos[i].finalInfo`), so that a learner can bootstrap from it
 * on truncation.
 */
export interface VectorStepResult {
  /** N × obsSize, row-major. */
  obs: Float32Array;
  rewards: Float32Array;
  terminated: Uint8Array;
  truncated: Uint8Array;
  infos: Info[];
}

/** What PPO and the collectors need from a vector env; SyncVectorEnv and AsyncVectorEnv both are one. */
export interface VectorEnv {
  readonly spec: EnvSpec;
  readonly numEnvs: number;
  readonly obsSize: number;
  reset(options?: { seed?: number }): { obs: Float32Array; infos: Info[] };
  step(actions: Action[]): VectorStepResult;
  close(): void;
}

/**
 * One env step with same-step autoreset (see above): when the episode ends, the env is reset at
 * once, the new episode's first observation is returned, and the ended one's last observation
 * and info are kept in `info.finalObs` / `info.finalInfo`. Shared by the sync and async vector envs.
 */
export function stepWithAutoreset(env: Env, action: Action): StepResult {
  const r = env.step(action);
  if (!(r.terminated || r.truncated)) return r;
  const reset = env.reset();
  return { ...r, obs: reset.obs, info: { ...reset.info, finalObs: r.obs, finalInfo: r.info } };
}

export class SyncVectorEnv implements VectorEnv {
  readonly spec: EnvSpec;
  readonly numEnvs: number;
  readonly obsSize: number;
  private readonly obsBuf: Float32Array;

  constructor(readonly envs: Env[]) {
    if (envs.length === 0) throw new ContractError('SyncVectorEnv needs at least one env');
    this.spec = envs[0].spec;
    this.numEnvs = envs.length;
    this.obsSize = this.spec.observationSpace.size;
    this.obsBuf = new Float32Array(this.numEnvs * this.obsSize);
  }

  /** Reset every env. Env i gets seed + i, so the N episodes differ but the whole batch is reproducible. */
  reset(options: { seed?: number } = {}): { obs: Float32Array; infos: Info[] } {
    const infos: Info[] = [];
    this.envs.forEach((env, i) => {
      const r = env.reset(options.seed === undefined ? {} : { seed: options.seed + i });
      this.obsBuf.set(r.obs, i * this.obsSize);
      infos.push(r.info);
    });
    return { obs: this.obsBuf.slice(), infos };
  }

  /** `actions[i]` is env i's action. */
  step(actions: Action[]): VectorStepResult {
    if (actions.length !== this.numEnvs) {
      throw new ContractError(`SyncVectorEnv.step: expected ${this.numEnvs} actions, got ${actions.length}`);
    }
    const rewards = new Float32Array(this.numEnvs);
    const terminated = new Uint8Array(this.numEnvs);
    const truncated = new Uint8Array(this.numEnvs);
    const infos: Info[] = [];
    for (let i = 0; i < this.numEnvs; i++) {
      const r = stepWithAutoreset(this.envs[i], actions[i]);
      rewards[i] = r.reward;
      terminated[i] = r.terminated ? 1 : 0;
      truncated[i] = r.truncated ? 1 : 0;
      this.obsBuf.set(r.obs, i * this.obsSize);
      infos.push(r.info);
    }
    return { obs: this.obsBuf.slice(), rewards, terminated, truncated, infos };
  }

  close(): void {
    for (const env of this.envs) env.close();
  }
}
