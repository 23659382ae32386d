/**
 * SAC/STAC hyper-parameters: each with its default (CleanRL sac_continuous_action.py; STAC:
 * REFERENCES.md "STAC") and meaning, and the parser that checks a run's config against them.
 */
import { z } from 'zod';
import { ValidationError } from '../../src/core/errors.js';
import { unknownConfigKeys } from '../learner.js';

// ---------------------------------------------------------------------------------------------
// Hyper-parameters (defaults: CleanRL sac_continuous_action.py; STAC: REFERENCES.md "STAC")
// ---------------------------------------------------------------------------------------------
export const SacConfigSchema = z.object({
  /** "twin": SAC's two Q critics (min of both); "distributional": STAC's one Normal(μ, σ) critic. */
  critic: z.enum(['twin', 'distributional']).default('twin'),
  /** Discount factor γ. */
  gamma: z.number().min(0).max(1).default(0.99),
  /** Target smoothing coefficient τ (Polyak). */
  tau: z.number().min(0).max(1).default(0.005),
  /** Minibatch size of each gradient update. */
  batchSize: z.number().int().positive().default(256),
  /** Replay buffer capacity, in transitions. */
  bufferSize: z.number().int().positive().default(1_000_000),
  /** Env steps of uniform random actions before learning starts. */
  learningStarts: z.number().int().nonnegative().default(5000),
  /** Gradient updates per env step. */
  updatesPerStep: z.number().int().positive().default(1),
  /** Actor learning rate. */
  policyLr: z.number().positive().default(3e-4),
  /** Critic (and temperature) learning rate. */
  qLr: z.number().positive().default(1e-3),
  /** Actor/temperature update every this many critic updates (done that many times, TD3-style delay). */
  policyFrequency: z.number().int().positive().default(2),
  /** Soft-update the target critic every this many critic updates. */
  targetNetworkFrequency: z.number().int().positive().default(1),
  /** Entropy coefficient α when not tuned. */
  alpha: z.number().nonnegative().default(0.2),
  /** Tune α automatically towards the target entropy −|A|. */
  autotune: z.boolean().default(true),
  /** Hidden layer widths of actor and critic. */
  hidden: z.array(z.number().int().positive()).default([256, 256]),
  /** STAC: pessimism β in μ − β·σ. */
  beta: z.number().default(0.25),
  /** Dropout rate in actor and critic hidden layers (STAC default 0.01; SAC 0). */
  dropout: z.number().min(0).max(0.9).optional(),
  /** LayerNorm after dropout in hidden layers (STAC default true; SAC false). */
  layerNorm: z.boolean().optional(),
  /** Bounds of the actor's log σ (CleanRL: tanh-rescaled into [−5, 2]). */
  logStdMin: z.number().default(-5),
  logStdMax: z.number().default(2),
  /** Running observation normalisation (frozen at evaluation, saved with the policy). */
  normalizeObs: z.boolean().default(false),
  /** Log losses and speeds every this many env steps. */
  logEvery: z.number().int().positive().default(1000),
});
export type SacConfig = z.infer<typeof SacConfigSchema>;

export function parseSacConfig(raw: Record<string, unknown>, kind: 'sac' | 'stac'): SacConfig {
  const known = new Set(Object.keys(SacConfigSchema.shape));
  const unknown = unknownConfigKeys(raw, known);
  if (unknown.length) throw new ValidationError(`${kind} config: unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')}; known: ${[...known].join(', ')}`);
  const mine = Object.fromEntries(Object.entries(raw).filter(([k]) => known.has(k)));
  if (kind === 'stac') mine.critic ??= 'distributional';
  const parsed = SacConfigSchema.safeParse(mine);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    throw new ValidationError(`${kind} config: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues);
  }
  const c = parsed.data;
  const stac = c.critic === 'distributional';
  return { ...c, dropout: c.dropout ?? (stac ? 0.01 : 0), layerNorm: c.layerNorm ?? stac };
}
