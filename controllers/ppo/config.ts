import { z } from 'zod';

/**
 * PPO hyper-parameters, each with its default and one-line meaning (CleanRL style). Defaults are
 * Stable-Baselines3's PPO defaults; per-task values live in configs/<scene>.ppo.json
 * (CartPole: rl-baselines3-zoo hyperparams/ppo.yml).
 */
export const PpoConfigSchema = z.strictObject({
  /** Total env steps the schedules run over ("linear" decays to 0 at this step). */
  totalSteps: z.number().int().positive().default(1_000_000),
  /** Parallel envs stepped by SyncVectorEnv. */
  numEnvs: z.number().int().positive().default(8),
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

/** The training driver's generic keys this learner also understands. */
export const DRIVER_KEYS = ['steps', 'evalEvery', 'evalEpisodes', 'checkpointEvery', 'backend'] as const;
