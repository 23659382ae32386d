import { z } from 'zod';

/**
 * DQN hyper-parameters, each with its default and one-line meaning (CleanRL style). Defaults are
 * Stable-Baselines3's DQN defaults; per-task values live in configs/<scene>.dqn.json
 * (CartPole: rl-baselines3-zoo hyperparams/dqn.yml).
 */
export const DqnConfigSchema = z.strictObject({
  /** Total env steps; the ε schedule runs over explorationFraction of it. */
  totalSteps: z.number().int().positive().default(1_000_000),
  /** Parallel envs (SyncVectorEnv); SB3's zoo uses 1. */
  numEnvs: z.number().int().positive().default(1),
  /** Adam step size (at the start, when the schedule is linear). */
  learningRate: z.number().positive().default(1e-4),
  /** "linear": lr · (1 − steps/totalSteps), as SB3's lin_ prefix; "constant": fixed. */
  lrSchedule: z.enum(['constant', 'linear']).default('constant'),
  /** Replay capacity, transitions. */
  bufferSize: z.number().int().positive().default(1_000_000),
  /** Env steps of uniform random actions before learning starts. */
  learningStarts: z.number().int().nonnegative().default(100),
  /** Minibatch size of each gradient step. */
  batchSize: z.number().int().positive().default(32),
  /** Target update: 1 copies the online network (hard), < 1 is Polyak averaging (soft). */
  tau: z.number().min(0).max(1).default(1),
  /** Discount factor. */
  gamma: z.number().min(0).max(1).default(0.99),
  /** Train every this many vector-env steps. */
  trainFreq: z.number().int().positive().default(4),
  /** Gradient steps per training round; −1 means as many as env steps collected since the last one. */
  gradientSteps: z.number().int().min(-1).refine((v) => v !== 0, 'expected a positive integer or -1').default(1),
  /** Update the target network every this many env steps (SB3 counts env steps, not gradient steps). */
  targetUpdateInterval: z.number().int().positive().default(10_000),
  /** Fraction of totalSteps over which ε decays linearly. */
  explorationFraction: z.number().min(0).max(1).default(0.1),
  explorationInitialEps: z.number().min(0).max(1).default(1),
  explorationFinalEps: z.number().min(0).max(1).default(0.05),
  /** Global gradient-norm clip. */
  maxGradNorm: z.number().positive().default(10),
  /** Double DQN (van Hasselt et al. 2016): the online net picks a′, the target net values it. */
  double: z.boolean().default(true),
  /** Huber loss threshold (1 is PyTorch's smooth_l1_loss). */
  huberDelta: z.number().positive().default(1),
  /** Hidden layer widths of the Q-network. */
  hidden: z.array(z.number().int().positive()).default([64, 64]),
  activation: z.enum(['tanh', 'relu']).default('relu'),
  /** Running observation normalisation, saved with the policy. */
  normalizeObs: z.boolean().default(false),
  obsClip: z.number().positive().default(10),
  adamEpsilon: z.number().positive().default(1e-8),
});
export type DqnConfig = z.infer<typeof DqnConfigSchema>;
