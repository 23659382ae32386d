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

/** What `embody eval` and a sweep's `eval` trials evaluate: a policy directory (or a run's policy/) on a scene. */
export interface EvaluatePolicyDirOptions {
  /** A policy directory, or a run (runs/<id>, runs/latest, an id prefix) standing for its policy/. */
  policy: string;
  /** Scene name or path (default: the scene the policy was trained on). */
  scene?: string;
  episodes: number;
  seed: number;
  /** Controller options (`--controller-opt key=value`). */
  options?: Record<string, string>;
  /** Where the record goes (default: <run>/eval.json, or eval.json beside the policy). */
  out?: string;
  /** Called once the policy is loaded, before any episode (the CLI notes a legacy format here). */
  onLoaded?: (loaded: { policyDir: string; manifest: EvaluatePolicyDirResult['manifest']; legacyFormat?: string }) => void;
}

export interface EvaluatePolicyDirResult {
  policyDir: string;
  scene: string;
  manifest: import('../../controllers/policy/manifest.js').PolicyManifest;
  legacyFormat?: string;
  summary: Record<string, { mean: number; std: number }>;
  /** The file the record (figures and every episode) was written to. */
  out: string;
  seconds: number;
}

/**
 * Load a policy directory through the one loader (which refuses one whose task or shapes differ
 * from the scene's), run `episodes` deterministic episodes from `seed`, and write the record
 * (mean ± population std, and every episode) atomically to `out`.
 */
export async function evaluatePolicyDir(opts: EvaluatePolicyDirOptions): Promise<EvaluatePolicyDirResult> {
  const path = await import('node:path');
  const { existsSync } = await import('node:fs');
  const { loadPolicy, readPolicyManifest } = await import('../../controllers/policy/index.js');
  const { createEnv } = await import('../../sim/registry.js');
  const { resolveRunDir } = await import('./run-index.js');
  const { writeJsonAtomic } = await import('../core/atomic.js');
  const { policy: policyArg, episodes, seed } = opts;
  // A run directory (or runs/latest, or a prefix) stands for its policy/.
  const isArtifact = existsSync(path.join(policyArg, 'manifest.json')) || existsSync(path.join(policyArg, 'dt.json'));
  const runDir = isArtifact ? null : resolveRunDir(policyArg);
  const policyDir = runDir ? path.join(runDir, 'policy') : policyArg;
  const scene = opts.scene ?? (await readPolicyManifest(policyDir).catch(() => null))?.manifest.scene;
  if (!scene) throw new ContractError('the policy does not name its scene; pass one');
  const env = await createEnv(scene, { seed });
  const { controller, manifest, legacyFormat } = await loadPolicy(policyDir, { spec: env.spec, context: { seed, model: env.model, options: opts.options } });
  opts.onLoaded?.({ policyDir, manifest, legacyFormat });
  const t0 = performance.now();
  const results = await runEpisodes({ env, controller, episodes, seed });
  const summary = summarise(results);
  env.close();
  const out = opts.out ?? path.join(runDir ?? path.dirname(path.resolve(policyDir)), 'eval.json');
  writeJsonAtomic(out, { policy: path.resolve(policyDir), scene, kind: manifest.kind, episodes, seed, std: 'population', summary, episodesDetail: results });
  return { policyDir, scene, manifest, ...(legacyFormat ? { legacyFormat } : {}), summary, out, seconds: (performance.now() - t0) / 1000 };
}
