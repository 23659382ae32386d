import { z } from 'zod';
import { NetworkSpecSchema } from './network.js';

/**
 * The policy artifact's manifest.json (DESIGN.md "Policy artifact"). One zod schema is the
 * validation, the type and the error message.
 */
export const POLICY_FORMAT = 'embody.policy/1';

const BoxJSONSchema = z.strictObject({
  kind: z.literal('box'),
  shape: z.array(z.number().int().nonnegative()),
  low: z.array(z.number()),
  high: z.array(z.number()),
});
const DiscreteJSONSchema = z.strictObject({ kind: z.literal('discrete'), n: z.number().int().positive() });
export const SpaceJSONSchema = z.discriminatedUnion('kind', [BoxJSONSchema, DiscreteJSONSchema]);

/**
 * How the network's output becomes an action:
 * - `tanh-gaussian-mean`: outputs [mean(A), logStd(A)]; action = tanh(mean) (SAC's deterministic action)
 * - `gaussian-mean`: outputs [mean(A), ...]; action = clip(mean, −1, 1) (PPO, Box)
 * - `categorical-argmax`: outputs logits(n); action = argmax (PPO, Discrete)
 * - `q-argmax`: outputs Q(n); action = argmax (DQN)
 */
export const PolicyHeadSchema = z.enum(['tanh-gaussian-mean', 'gaussian-mean', 'categorical-argmax', 'q-argmax']);
export type PolicyHead = z.infer<typeof PolicyHeadSchema>;

export const NormalizationSchema = z.strictObject({
  count: z.number().nonnegative(),
  mean: z.array(z.number()),
  var: z.array(z.number().nonnegative()),
  clip: z.number().positive(),
  epsilon: z.number().positive(),
});

export const PolicyManifestSchema = z.strictObject({
  format: z.literal(POLICY_FORMAT),
  /** Controller kind that trained it: sac, stac, ppo, dqn... */
  kind: z.string().min(1),
  taskId: z.string().min(1),
  scene: z.string().optional(),
  observationSpace: SpaceJSONSchema,
  actionSpace: SpaceJSONSchema,
  /** Frozen running normalisation of observations, or null when the policy sees raw observations. */
  observationNormalization: NormalizationSchema.nullable(),
  head: PolicyHeadSchema,
  /** Box only: the head's [−1, 1] output maps affinely to [low, high]; null means identity. */
  actionScaling: z.strictObject({ low: z.array(z.number()), high: z.array(z.number()) }).nullable(),
  network: NetworkSpecSchema,
  /** tfjs model files, relative to the policy directory. */
  model: z.strictObject({ topology: z.literal('model.json'), weights: z.literal('weights.bin') }),
  trainingRunId: z.string().nullable(),
  packageVersion: z.string(),
  createdAt: z.string(),
  /** sha256 (hex) of every other file in the directory. */
  files: z.record(z.string(), z.string().regex(/^[0-9a-f]{64}$/)),
  /** Anything else the learner wants to keep (hyper-parameters, eval return). */
  extra: z.record(z.string(), z.unknown()).optional(),
});
export type PolicyManifest = z.infer<typeof PolicyManifestSchema>;
