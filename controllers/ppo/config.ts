import { z } from 'zod';
import { ValidationError } from '../../src/core/errors.js';
import { unknownConfigKeys } from '../learner.js';

/**
 * PPO hyper-parameters, each with its default and one-line meaning (CleanRL style). Defaults are
 * Stable-Baselines3's PPO defaults; per-task values live in configs/<scene>.ppo.json
 * (CartPole: rl-baselines3-zoo hyperparams/ppo.yml).
 */
export const PpoConfigSchema = z.strictObject({
  /** Total env steps the schedules run over ("linear" decays to 0 at this step). */
  totalSteps: z.number().int().positive().default(1_000_000),
  /** Parallel envs in the rollout's vector env. */
  numEnvs: z.number().int().positive().default(8),
  /**
   * "sync": the envs step one after another in this thread (SyncVectorEnv); "async": in worker
   * threads (AsyncVectorEnv), so collection can use every core. Same seed ⇒ bit-identical training.
   */
  vectorEnv: z.enum(['sync', 'async']).default('sync'),
  /** Worker threads for vectorEnv "async" (null: one per core, at most numEnvs). */
  vecWorkers: z.number().int().positive().nullable().default(null),
  /** Steps per env per rollout; a rollout is numEnvs × numSteps transitions. */
  numSteps: z.number().int().positive().default(2048),
  /** Minibatch size for the gradient steps. */
  batchSize: z.number().int().positive().default(64),
  /** Passes over each rollout. */
  nEpochs: z.number().int().positive().default(10),
  /** Discount factor. */
  gamma: z.number().min(0).max(1).default(0.99),
  /** GAE λ: bias/variance trade-off of the advantage estimate. */
  gaeLambda: z.number().min(0).max(1).default(0.95),
  /** Adam step size (at the start, when the schedule is linear). */
  learningRate: z.number().positive().default(3e-4),
  /** "linear": lr · (1 − steps/totalSteps), as SB3's lin_ prefix; "constant": fixed. */
  lrSchedule: z.enum(['constant', 'linear']).default('constant'),
  /** Policy ratio clip ε of the surrogate objective. */
  clipRange: z.number().positive().default(0.2),
  clipSchedule: z.enum(['constant', 'linear']).default('constant'),
  /** Value clip around the rollout's values (null: no value clipping). */
  clipRangeVf: z.number().positive().nullable().default(null),
  /** Normalise advantages per minibatch to zero mean, unit std. */
  normalizeAdvantage: z.boolean().default(true),
  /** Entropy bonus coefficient. */
  entCoef: z.number().min(0).default(0),
  /** Value loss coefficient. */
  vfCoef: z.number().min(0).default(0.5),
  /** Global gradient-norm clip. */
  maxGradNorm: z.number().positive().default(0.5),
  /** Hidden layer widths of the actor and (separately) of the critic. */
  hidden: z.array(z.number().int().positive()).default([64, 64]),
  activation: z.enum(['tanh', 'relu']).default('tanh'),
  /** Initial log standard deviation of the Gaussian (Box actions). */
  logStdInit: z.number().default(0),
  /** Running observation normalisation (SB3 VecNormalize's norm_obs), saved with the policy. */
  normalizeObs: z.boolean().default(false),
  /** Clip of normalised observations. */
  obsClip: z.number().positive().default(10),
  /** Adam ε (SB3 PPO uses 1e-5). */
  adamEpsilon: z.number().positive().default(1e-5),
});
export type PpoConfig = z.infer<typeof PpoConfigSchema>;

/** Hyper-parameters from the merged config: the driver's keys are skipped; unknown keys and bad values throw. */
export function parsePpoConfig(raw: Record<string, unknown>): PpoConfig {
  const known = Object.keys(PpoConfigSchema.shape);
  const unknown = unknownConfigKeys(raw, known);
  if (unknown.length) throw new ValidationError(`ppo config: unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')}; known: ${known.join(', ')}`);
  const picked: Record<string, unknown> = {};
  for (const k of known) if (raw[k] !== undefined) picked[k] = raw[k];
  // The driver's --steps sets the schedule length unless the config names it.
  if (picked.totalSteps === undefined && typeof raw.steps === 'number') picked.totalSteps = raw.steps;
  const res = PpoConfigSchema.safeParse(picked);
  if (!res.success) {
    const issues = res.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    throw new ValidationError(`ppo config: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues);
  }
  return res.data;
}
