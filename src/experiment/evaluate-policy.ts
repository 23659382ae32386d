import type { Controller } from '../core/controller.js';
import type { Env } from '../core/env.js';
import { ContractError } from '../core/errors.js';
import type { TaskEnv } from '../../sim/task-env.js';
import { runEpisodes, summarise, type EpisodeResult } from './rollout.js';

/**
 * `evaluate(policy, env, { episodes, seed })`, as Stable-Baselines3's `evaluate_policy`:
 * whole episodes, episode i reset with seed + i, and the mean and population std of the
 * return (numpy's default, which SB3 uses), plus the same for length and the task's metrics.
 */
export interface EvaluateOptions {
  /** Episodes to run (default 10). */
  episodes?: number;
  /** Seed of the first episode; episode i uses seed + i (default 0, as `embody run` and `embody eval`). */
  seed?: number;
}

export interface EvaluateResult {
  meanReturn: number;
  /** Population std of the episode returns. */
  stdReturn: number;
  returns: number[];
  lengths: number[];
  /** Mean and population std of every figure: return, length and the task's metrics. */
  summary: Record<string, { mean: number; std: number }>;
  episodes: EpisodeResult[];
}

/** A Controller, or what `loadPolicy` returns ({ controller, manifest }). */
export type PolicyLike = Controller | { controller: Controller };

export async function evaluatePolicy(policy: PolicyLike, env: Env, options: EvaluateOptions = {}): Promise<EvaluateResult> {
  const controller = 'act' in policy ? policy : policy.controller;
  const episodes = options.episodes ?? 10;
  const seed = options.seed ?? 0;
  if (!Number.isInteger(episodes) || episodes <= 0) throw new ContractError(`evaluate: episodes must be a positive integer, got ${episodes}`);
  if (!Number.isInteger(seed)) throw new ContractError(`evaluate: seed must be an integer, got ${seed}`);
  if (controller.privileged && !('state' in env)) throw new ContractError(`evaluate: controller "${controller.kind}" needs simulator state; give it an env from make()`);
  const results = await runEpisodes({ env: env as TaskEnv, controller, episodes, seed });
  const summary = summarise(results);
  return {
    meanReturn: summary.return.mean,
    stdReturn: summary.return.std,
    returns: results.map((r) => r.return),
    lengths: results.map((r) => r.length),
    summary,
    episodes: results,
  };
}
