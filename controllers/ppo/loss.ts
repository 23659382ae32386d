import * as tf from '@tensorflow/tfjs';

/**
 * The PPO objective (Schulman et al. 2017, "Proximal Policy Optimization Algorithms", eq. 7 and 9),
 * as a minimised loss over one minibatch:
 *
 *   ratio  = exp(log π_new(a|s) − log π_old(a|s))
 *   L_clip = −mean(min(ratio·Â, clip(ratio, 1−ε, 1+ε)·Â))
 *   L_V    = mean((V − R)²), or with value clipping (OpenAI baselines ppo2)
 *            mean(max((V − R)², (V_old + clip(V − V_old, −ε_V, ε_V) − R)²))
 *   loss   = L_clip − c_ent·mean(H) + c_V·L_V
 *
 * Â is normalised per minibatch when asked (zero mean, unit sample std, as SB3 and CleanRL do).
 * The value loss has no ½, as SB3's F.mse_loss, so that the zoo's vf_coef means the same.
 */
export interface PpoLossInput {
  newLogp: tf.Tensor1D;
  oldLogp: tf.Tensor1D;
  advantages: tf.Tensor1D;
  newValues: tf.Tensor1D;
  oldValues: tf.Tensor1D;
  returns: tf.Tensor1D;
  /** Per-sample entropy of π_new. */
  entropy: tf.Tensor1D;
}

export interface PpoLossOptions {
  clipRange: number;
  clipRangeVf: number | null;
  normalizeAdvantage: boolean;
  entCoef: number;
  vfCoef: number;
}

export interface PpoLossParts {
  loss: tf.Scalar;
  policyLoss: tf.Scalar;
  valueLoss: tf.Scalar;
  entropy: tf.Scalar;
  /** mean((ratio − 1) − log ratio): the low-variance KL estimator SB3 and CleanRL log. */
  approxKl: tf.Scalar;
  clipFraction: tf.Scalar;
}

export function ppoLoss(x: PpoLossInput, o: PpoLossOptions): PpoLossParts {
  let adv: tf.Tensor1D = x.advantages;
  if (o.normalizeAdvantage && adv.shape[0] > 1) {
    const n = adv.shape[0];
    const mean = tf.mean(adv);
    const centred = tf.sub(adv, mean);
    const std = tf.sqrt(tf.div(tf.sum(tf.square(centred)), n - 1));
    adv = tf.div(centred, tf.add(std, 1e-8));
  }
  const logRatio = tf.sub(x.newLogp, x.oldLogp);
  const ratio = tf.exp(logRatio);
  const surrogate = tf.mul(ratio, adv);
  const clipped = tf.mul(tf.clipByValue(ratio, 1 - o.clipRange, 1 + o.clipRange), adv);
  const policyLoss = tf.neg(tf.mean(tf.minimum(surrogate, clipped))) as tf.Scalar;

  const unclippedErr = tf.square(tf.sub(x.newValues, x.returns));
  let valueLoss: tf.Scalar;
  if (o.clipRangeVf === null) {
    valueLoss = tf.mean(unclippedErr) as tf.Scalar;
  } else {
    const vClipped = tf.add(x.oldValues, tf.clipByValue(tf.sub(x.newValues, x.oldValues), -o.clipRangeVf, o.clipRangeVf));
    const clippedErr = tf.square(tf.sub(vClipped, x.returns));
    valueLoss = tf.mean(tf.maximum(unclippedErr, clippedErr)) as tf.Scalar;
  }
  const entropy = tf.mean(x.entropy) as tf.Scalar;
  // With no entropy bonus the term is left out rather than multiplied by 0: the same loss and
  // gradients to the bit (x − 0 = x, g + 0 = g), without differentiating the entropy.
  const bonus = o.entCoef === 0 ? policyLoss : tf.sub(policyLoss, tf.mul(entropy, o.entCoef));
  const loss = tf.add(bonus, tf.mul(valueLoss, o.vfCoef)) as tf.Scalar;
  const approxKl = tf.mean(tf.sub(tf.sub(ratio, 1), logRatio)) as tf.Scalar;
  const clipFraction = tf.mean(tf.cast(tf.greater(tf.abs(tf.sub(ratio, 1)), o.clipRange), 'float32')) as tf.Scalar;
  return { loss, policyLoss, valueLoss, entropy, approxKl, clipFraction };
}
