import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../src/core/rng.js';
import type { Adam } from '../nn/index.js';
import type { PpoConfig } from './config.js';
import { computeGae } from './gae.js';
import { ppoLoss } from './loss.js';
import type { PpoNets } from './nets.js';
import type { RolloutBuffer } from './rollout.js';

export interface UpdateInput {
  nets: PpoNets;
  optimizer: Adam;
  rng: Rng;
  cfg: PpoConfig;
  buf: RolloutBuffer;
  numEnvs: number;
  /** V(obs after the rollout's last step), N values. */
  lastValues: Float32Array;
  /** The learning rate and clip range of this update (after the schedules). */
  lr: number;
  clipRange: number;
}

/**
 * Steps 2 and 3 of PPO: GAE, then nEpochs passes of shuffled minibatches (clipped surrogate +
 * value loss − entropy bonus, global grad-norm clip, Adam). π_old(a|s) is computed once, here, by
 * the same `nets.logProb` the loss uses. Returns the figures to log and the gradient steps taken.
 */
export function ppoUpdate(p: UpdateInput): { figures: Record<string, number>; steps: number } {
  const { nets, optimizer, rng, cfg, buf: b, lr, clipRange } = p;
  const T = cfg.numSteps;
  const B = T * p.numEnvs;
  const D = nets.obsSize;
  const { advantages, returns } = computeGae({
    numSteps: T,
    numEnvs: p.numEnvs,
    rewards: b.rewards,
    values: b.values,
    terminated: b.terminated,
    truncated: b.truncated,
    truncationValues: b.truncationValues,
    lastValues: p.lastValues,
    gamma: cfg.gamma,
    lambda: cfg.gaeLambda,
  });
  optimizer.lr = lr;

  const obsT = tf.tensor2d(b.obs, [B, D]);
  const actT = nets.actionsTensor(b.actions);
  const oldLogpT = nets.logProb(obsT, actT);
  const advT = tf.tensor1d(advantages);
  const retT = tf.tensor1d(returns);
  const oldVT = tf.tensor1d(b.values);
  const params = optimizer.vars;
  const parts: tf.Tensor[] = [];
  let gradNormSum = 0;
  let steps = 0;
  const indices = Array.from({ length: B }, (_, i) => i);
  for (let epoch = 0; epoch < cfg.nEpochs; epoch++) {
    rng.shuffle(indices);
    for (let start = 0; start < B; start += cfg.batchSize) {
      const idx = tf.tensor1d(indices.slice(start, start + cfg.batchSize), 'int32');
      const { value, grads } = tf.variableGrads(() => {
        const x = tf.gather(obsT, idx) as tf.Tensor2D;
        const a = tf.gather(actT, idx) as tf.Tensor2D;
        const { logProb: newLogp, entropy } = nets.logProbAndEntropy(nets.actor.apply(x), a, cfg.entCoef !== 0);
        const newValues = tf.reshape(nets.critic.apply(x), [-1]) as tf.Tensor1D;
        const l = ppoLoss(
          {
            newLogp,
            oldLogp: tf.gather(oldLogpT, idx) as tf.Tensor1D,
            advantages: tf.gather(advT, idx) as tf.Tensor1D,
            newValues,
            oldValues: tf.gather(oldVT, idx) as tf.Tensor1D,
            returns: tf.gather(retT, idx) as tf.Tensor1D,
            entropy,
          },
          { clipRange, clipRangeVf: cfg.clipRangeVf, normalizeAdvantage: cfg.normalizeAdvantage, entCoef: cfg.entCoef, vfCoef: cfg.vfCoef },
        );
        parts.push(tf.keep(tf.stack([l.policyLoss, l.valueLoss, l.entropy, l.approxKl, l.clipFraction])));
        return l.loss;
      }, params);
      const gradList = params.map((v) => grads[v.name]);
      gradNormSum += optimizer.step(gradList);
      steps++;
      tf.dispose([value, idx, ...gradList]);
    }
  }
  tf.dispose([obsT, actT, oldLogpT, advT, retT, oldVT]);
  const sums = new Float64Array(5);
  for (const part of parts) {
    const d = part.dataSync();
    for (let k = 0; k < 5; k++) sums[k] += d[k];
  }
  tf.dispose(parts);
  const figures: Record<string, number> = {
    policyLoss: sums[0] / steps,
    valueLoss: sums[1] / steps,
    entropy: sums[2] / steps,
    approxKl: sums[3] / steps,
    clipFraction: sums[4] / steps,
    explainedVariance: explainedVariance(returns, b.values),
    gradNorm: gradNormSum / steps,
    learningRate: lr,
    clipRange,
  };
  if (nets.logStd) figures.std = Math.exp((nets.logStd.dataSync() as Float32Array)[0]);
  return { figures, steps };
}

/** Explained variance of the rollout's values w.r.t. the returns (1 is perfect, ≤ 0 is useless). */
function explainedVariance(returns: Float32Array, values: Float32Array): number {
  const B = returns.length;
  let mr = 0;
  for (let i = 0; i < B; i++) mr += returns[i];
  mr /= B;
  let varR = 0;
  let varE = 0;
  let me = 0;
  for (let i = 0; i < B; i++) me += returns[i] - values[i];
  me /= B;
  for (let i = 0; i < B; i++) {
    varR += (returns[i] - mr) ** 2;
    varE += (returns[i] - values[i] - me) ** 2;
  }
  return varR > 0 ? 1 - varE / varR : 0;
}
