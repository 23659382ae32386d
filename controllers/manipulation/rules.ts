import { z } from 'zod';
import { ValidationError } from '../../src/core/errors.js';

/**
 * The decision rules around the critic. The first four are the paper's method (the coordinator off
 * by default: see its note); the stuck switch is ours. Each can be switched off (the ablation in `npm run check:manipulation` turns all off:
 * then every choice is an argmax of the raw Q maps over the whole workspace).
 */
export const criticRulesSchema = z.strictObject({
  /** Grasps only at the target's pixels: the paper's target-oriented grasp (Yang et al., sec. III-A: Q_grasp is read on the target mask). */
  targetGrasps: z.boolean().default(true),
  /**
   * Pushes only from pixels the push heuristic allows (an edge of a pile, on the table) within
   * HP.pushRegion of the target: the paper's target-oriented push (sec. III-A; its push heuristic
   * mask is the one the Bayesian prior uses, sec. III-C).
   */
  pushCandidates: z.boolean().default(true),
  /** Target hidden: the Bayesian push search, prior = push heuristic ⊙ Q_push, updated by the last 3 pushes (sec. III-C). */
  bayesianSearch: z.boolean().default(true),
  /**
   * Target seen: the fitted coordinator MLP picks push or grasp (the paper, sec. III-B). Off, the
   * default: the larger of max Q_grasp and max Q_push picks (VPG's rule, Zeng et al. 2018, and the
   * rule before any fit). Off is the default because it is the better rule for our critic, measured
   * at 3 × 50 (README, manipulation section): the committed critic succeeds 82.0% / 74.7% on
   * manip-clutter / manip-hidden with it, 69.3% / 75.3% with its refit coordinator. Training acts
   * with the coordinator on, as the paper's agent does.
   */
  coordinator: z.boolean().default(false),
  /** Ours, not the paper's: a motion that left the heightmap unchanged is followed by the other primitive. */
  stuckSwitch: z.boolean().default(true),
  /**
   * The paper's testing protocol (choicelab/grasping-invisible main.py: the executed motion's label
   * is backpropagated after every motion in testing too, and the checkpoint is reloaded for each
   * test case): the critic learns from each motion of an episode, and `reset` restores its weights.
   * Off by default, so that the plain `critic` row is the frozen network.
   */
  testTimeUpdates: z.boolean().default(false),
});
export type CriticRules = z.infer<typeof criticRulesSchema>;

/** The rules off: the ablation row. */
export const NO_RULES: CriticRules = { targetGrasps: false, pushCandidates: false, bayesianSearch: false, coordinator: false, stuckSwitch: false, testTimeUpdates: false };

/** Partial rules checked and completed with the defaults; a clear error names each bad key. */
export function parseRules(rules: Partial<CriticRules>): CriticRules {
  const parsed = criticRulesSchema.safeParse(rules);
  if (!parsed.success) throw new Error(`manipulation critic rules: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

/**
 * The rules as controller options (`--controller-opt targetGrasps=false`): how they reach an
 * agent loaded through the one policy loader.
 */
export function rulesFromOptions(options: Record<string, string> | undefined): Partial<CriticRules> {
  const out: Partial<CriticRules> = {};
  for (const key of Object.keys(criticRulesSchema.shape) as (keyof CriticRules)[]) {
    const v = options?.[key];
    if (v === undefined) continue;
    if (v !== 'true' && v !== 'false') throw new ValidationError(`manipulation critic option ${key}=${v}: expected true or false`);
    out[key] = v === 'true';
  }
  return out;
}
