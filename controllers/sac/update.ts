/**
 * One SAC/STAC gradient update, in the paper's order (README "The update"): target → critic loss →
 * actor loss → temperature → soft update. The tensor plumbing is controllers/nn's; this file maps
 * line by line onto the equations.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../src/core/rng.js';
import { columnMseSum, gaussianNll, readView, softMinObjective, softUpdate, type Adam, type ScalarAdam } from '../nn/index.js';
import type { Batch } from '../replay/replay-buffer.js';
import type { SacConfig } from './config.js';
import type { SacNetworks } from './networks.js';

export interface SacUpdateParts {
  config: SacConfig;
  nets: SacNetworks;
  actorOpt: Adam;
  criticOpt: Adam;
  logAlpha: ScalarAdam;
  /** Reparameterisation noise. */
  rng: Rng;
  /** Dropout masks (null without dropout). */
  dropoutRng: Rng | null;
  targetEntropy: number;
  /** α = exp(log α) when tuned, else the configured α. */
  alpha(): number;
}

export interface SacUpdateFigures {
  criticLoss: number;
  qMean: number;
  sigmaMean: number;
  /** Set when this update stepped the actor. */
  actor?: { loss: number; entropy: number };
}

/** A tensor's values, from its storage (no copy) where the backend allows. */
const columnValues = (t: tf.Tensor) => readView(t) ?? (t.dataSync() as Float32Array);

/** Mean of a 1-D or [B, K] tensor's first column, read from its storage (no kernels) where the backend allows. */
function firstColumnMean(t: tf.Tensor): number {
  const cols = t.rank === 2 ? t.shape[1]! : 1;
  const v = readView(t) ?? (t.dataSync() as Float32Array);
  let s = 0;
  for (let i = 0; i < v.length; i += cols) s += v[i];
  return s / (v.length / cols);
}

/**
 * Update on batch `b` (observations already normalised); `updates` counts critic updates,
 * this one included (the actor steps every policyFrequency of them, the target every
 * targetNetworkFrequency).
 */
export function sacUpdate(p: SacUpdateParts, b: Batch, updates: number): SacUpdateFigures {
  const { config: c, nets } = p;
  const B = b.rewards.length;
  const obs = tf.tensor2d(b.obs, [B, nets.obsSize]);
  const actions = tf.tensor2d(b.actions, [B, nets.actSize]);
  const nextObs = tf.tensor2d(b.nextObs, [B, nets.obsSize]);
  const alpha = p.alpha();
  const twin = c.critic === 'twin';

  // 1. Target: y = r + γ(1 − d)·(V(s′, a′) − α·log π(a′|s′)), a′ ~ π(·|s′), V from the target critic(s).
  // No gradient flows here: the last step is a JS loop over the B values.
  const y = new Float32Array(B);
  tf.tidy(() => {
    const next = nets.policySample(nextObs, p.rng, p.dropoutRng, true);
    const value = nets.pessimisticValue(nets.target, nets.criticInput(nextObs, next.action), p.dropoutRng, true);
    const [v, logProb] = [columnValues(value), columnValues(next.logProb)];
    for (let i = 0; i < B; i++) y[i] = b.rewards[i] + c.gamma * (1 - b.dones[i]) * (v[i] - alpha * logProb[i]);
  });

  // 2. Critic loss. SAC: Σ_i MSE(Q_i(s, a), y) over the output's columns. STAC: Gaussian NLL −log N(y; μ, σ).
  let qMean = 0;
  let sigmaMean = 0;
  const critic = tf.variableGrads(() => {
    const sa = nets.criticInput(obs, actions);
    if (twin) {
      const q = nets.critic.apply(sa);
      qMean = firstColumnMean(q);
      return columnMseSum(q, y); // one op (nn/column-losses.ts)
    }
    const { mu, sigma } = nets.normalHead(nets.critic.apply(sa, p.dropoutRng));
    qMean = firstColumnMean(mu);
    sigmaMean = firstColumnMean(sigma);
    return tf.mean(gaussianNll(tf.tensor1d(y), mu, sigma)) as tf.Scalar;
  }, p.criticOpt.vars);
  const criticGrads = p.criticOpt.vars.map((v) => critic.grads[v.name]);
  p.criticOpt.step(criticGrads);
  const criticLoss = critic.value.dataSync()[0];
  tf.dispose([critic.value, ...criticGrads]);

  // 3. Actor loss: E[α·log π(ã|s) − V(s, ã)], ã reparameterised; then 4. temperature.
  let actor: SacUpdateFigures['actor'];
  if (updates % c.policyFrequency === 0) {
    const vars = nets.actor.vars;
    for (let k = 0; k < c.policyFrequency; k++) {
      let logProbMean = 0;
      const actorStep = tf.variableGrads(() => {
        const { action, logProb } = nets.policySample(obs, p.rng, p.dropoutRng);
        // The critics are constants here: only ∂V/∂a flows (their weight gradients are not needed).
        const sa = nets.criticInput(obs, action);
        logProbMean = firstColumnMean(logProb);
        // SAC: V = min(Q1, Q2) over the critic's two columns, the loss as one op (nn/column-losses.ts).
        if (twin) return softMinObjective(logProb, nets.critic.apply(sa, null, { frozen: true }), p.alpha());
        const value = nets.pessimisticValue(nets.critic, sa, p.dropoutRng, false, true);
        return tf.mean(tf.sub(tf.mul(p.alpha(), logProb), value)) as tf.Scalar;
      }, vars);
      const actorGrads = vars.map((v) => actorStep.grads[v.name]);
      p.actorOpt.step(actorGrads);
      actor = { loss: actorStep.value.dataSync()[0], entropy: -logProbMean };
      tf.dispose([actorStep.value, ...actorGrads]);
      // 4. Temperature: J(α) = E[−α·(log π + H̄)], so ∂J/∂log α = −α·(E[log π] + H̄).
      if (c.autotune) p.logAlpha.step(-Math.exp(p.logAlpha.value) * (logProbMean + p.targetEntropy));
    }
  }

  // 5. Soft update of the target critic(s): one pass per stacked variable.
  if (updates % c.targetNetworkFrequency === 0) softUpdate(nets.target, nets.critic, c.tau, { simd: true });
  tf.dispose([obs, actions, nextObs]);
  return { criticLoss, qMean, sigmaMean, actor };
}
