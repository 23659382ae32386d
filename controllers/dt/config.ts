import { z } from 'zod';
import { ValidationError } from '../../src/core/errors.js';

/**
 * Decision transformer hyper-parameters (Chen et al. 2021; reference code kzl/decision-transformer),
 * with the critic regularisation of LLM-CRDT (arXiv 2509.13934; public relative: QT) and LoRA
 * (Hu et al. 2021). Defaults are the references'; bench/check-offline.ts shrinks them to fit 2 cores.
 */
export const DtConfigSchema = z.strictObject({
  /** Context length in timesteps (3K tokens). */
  K: z.number().int().positive().default(20),
  /** Embedding width. */
  embed: z.number().int().positive().default(128),
  layers: z.number().int().positive().default(3),
  heads: z.number().int().positive().default(1),
  /** MLP inner width = mlpRatio × embed (GPT-2: 4), ReLU as the reference config. */
  mlpRatio: z.number().int().positive().default(4),
  dropout: z.number().min(0).max(1).default(0.1),
  /** Learned timestep embedding size (max episode length). */
  maxTimestep: z.number().int().positive().default(1000),
  /** AdamW. */
  lr: z.number().positive().default(1e-4),
  weightDecay: z.number().min(0).default(1e-4),
  /** Linear warm-up: lr·min((t+1)/warmup, 1). */
  warmupSteps: z.number().int().min(0).default(10_000),
  gradClip: z.number().positive().default(0.25),
  batch: z.number().int().positive().default(64),
  updates: z.number().int().min(0).default(100_000),
  /** Returns-to-go are divided by this; 0 = the dataset's largest |return| (our choice, per task). */
  rtgScale: z.number().min(0).default(0),
  /** 'uniform' (∝ length, the reference), 'return' (RW) or 'advantage' (AW), Hong et al. 2023. */
  weighting: z.enum(['uniform', 'return', 'advantage']).default('uniform'),
  /** Critic regularisation (CRDT): 0 disables. Actor loss = η₂·MSE − η·Q₁(s,â)/mean|Q₂(s,â)|. */
  eta: z.number().min(0).default(0),
  eta2: z.number().min(0).default(1),
  /** Critic: n-step TD targets, discount, lr, EMA of the actor for â_{t+n}, target critic τ. */
  nStep: z.number().int().positive().default(5),
  gamma: z.number().min(0).max(1).default(0.99),
  criticLr: z.number().positive().default(3e-4),
  criticHidden: z.number().int().positive().default(256),
  /**
   * Critic TD updates on the dataset before the actor trains (a′ = the data's next action, critic.ts).
   * The paper trains critic and actor together for ~10⁵ updates; a run cut to a few hundred actor
   * updates leaves a joint-only critic near its initialisation, so it is fitted first. 0: joint only.
   */
  criticPretrain: z.number().int().min(0).default(0),
  emaDecay: z.number().min(0).max(1).default(0.995),
  targetTau: z.number().min(0).max(1).default(0.005),
  /** CRDT actor gradient clip (QT / LLM-CRDT: 1.0). */
  crdtGradClip: z.number().positive().default(1.0),
  /** LoRA rank (0 = off) and α; adapters on q, k, v, o and the MLP projections. */
  loraRank: z.number().int().min(0).default(0),
  loraAlpha: z.number().positive().default(16),
});
export type DtConfig = z.infer<typeof DtConfigSchema>;

/** Every default, from the schema. */
export const DT_DEFAULTS: DtConfig = DtConfigSchema.parse({});

/**
 * The full config from the defaults and `over` (a config file, --set pairs, a bench's choices):
 * an unknown key (a typo) or a bad value is a ValidationError that names it.
 */
export function dtConfig(over: Partial<DtConfig> | Record<string, unknown> = {}): DtConfig {
  const res = DtConfigSchema.safeParse(over);
  if (!res.success) {
    const issues = res.error.issues.map((i) => ({
      path: i.code === 'unrecognized_keys' ? i.keys.join(', ') : i.path.join('.'),
      message: i.code === 'unrecognized_keys' ? `unknown key${i.keys.length > 1 ? 's' : ''} (known: ${Object.keys(DtConfigSchema.shape).join(', ')})` : i.message,
    }));
    throw new ValidationError(`dt config: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues);
  }
  const c = res.data;
  if (c.embed % c.heads !== 0) throw new ValidationError(`dt config: embed ${c.embed} is not divisible by heads ${c.heads}`, [{ path: 'heads', message: 'must divide embed' }]);
  return c;
}
