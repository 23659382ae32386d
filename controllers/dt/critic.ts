import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src/core/rng.js';
import type { OfflineDataset } from '../../src/data/dataset.js';
import { Adam, initWeights, Mlp, softUpdate } from '../nn/index.js';
import { mlpSpec } from '../policy/network.js';
import { dtConfig, type DtConfig } from './config.js';
import { SegmentSampler, type SegmentBatch } from './data.js';

/**
 * CRDT's twin critic (LLM-CRDT, arXiv 2509.13934; QT code): Q₁, Q₂ on (normalised s, a), target
 * copies moved by Polyak τ, n-step TD target y = Σ_{i<n} γ^i r_{t+i} + γ^n (1−d) min Q′(s_{t+n}, a′).
 * `pretrainCritic` fits it on the dataset before the actor trains; there is no actor yet, so a′ is
 * the dataset's own next action (SARSA-style: Q of the behaviour data). While the DT trains, a′ is
 * the EMA actor's (train.ts).
 */
export interface CriticCurvePoint {
  /** Critic update index (pretraining first, then the joint phase). */
  update: number;
  phase: 'pretrain' | 'joint';
  /** Mean over the window of the squared TD error, averaged over the two critics. */
  tdLoss: number;
  /** Mean Q₁(s, a) on the data's actions and mean TD target y, over the window. */
  q: number;
  target: number;
  /** Mean within-batch variance of y: the TD loss of a critic that only knew the mean (explained share 1 − tdLoss/targetVar). */
  targetVar: number;
}

export interface PretrainedCritic {
  /** Q₁, Q₂, then their targets: Mlp weight lists in weightShapes order. */
  weights: Float32Array[][];
  curve: CriticCurvePoint[];
  seconds: number;
}

/** Rewards are scaled like the RTG (× 10) so that Q has the same order of magnitude across tasks. */
export const criticRewardScale = (rtgScale: number) => (1 / rtgScale) * 10;

export class TwinCritic {
  readonly q: Mlp[];
  readonly qTarget: Mlp[];
  private readonly adam: Adam;
  private window = { n: 0, loss: 0, q: 0, target: 0, targetVar: 0 };

  constructor(
    readonly S: number,
    readonly A: number,
    readonly c: DtConfig,
    init: Float32Array[][] | Rng,
  ) {
    const spec = mlpSpec({ inputSize: S + A, hidden: [c.criticHidden, c.criticHidden], outputSize: 1 });
    const w = init instanceof Rng ? [0, 1].map(() => initWeights(spec, init.fork())) : init.slice(0, 2);
    this.q = w.map((ws, i) => new Mlp(spec, ws, `dt-q${i}`));
    this.qTarget = init instanceof Rng ? this.q.map((m, i) => new Mlp(spec, m.getWeights(), `dt-qt${i}`)) : init.slice(2, 4).map((ws, i) => new Mlp(spec, ws, `dt-qt${i}`));
    this.adam = new Adam(this.q.flatMap((m) => m.vars), { lr: c.criticLr });
  }

  /**
   * One TD step: critics on (s, a) of the batch, targets from the target critics on (s, a′) at the
   * bootstrap rows. `states`, `actions`, `bootActions` are [B·K, ·] in the batch's row order.
   */
  update(batch: SegmentBatch, states: tf.Tensor2D, actions: tf.Tensor2D, bootActions: tf.Tensor2D): number {
    const N = batch.B * batch.K;
    const boot = tf.tidy(() => {
      const x = tf.concat([states, bootActions], 1) as tf.Tensor2D;
      return tf.minimum(this.qTarget[0].apply(x, null, { noGrad: true }), this.qTarget[1].apply(x, null, { noGrad: true })).dataSync() as Float32Array;
    });
    const y = new Float32Array(N);
    for (let i = 0; i < N; i++) y[i] = batch.nstepReturn[i] + (batch.bootIndex[i] >= 0 ? batch.bootDiscount[i] * boot[batch.bootIndex[i]] : 0);
    const yT = tf.tensor2d(y, [N, 1]);
    const m = tf.tensor2d(batch.criticMask, [N, 1]);
    const x = tf.concat([states, actions], 1) as tf.Tensor2D;
    const vars = this.q.flatMap((mm) => mm.vars);
    let q1 = 0;
    const { value, grads } = tf.variableGrads(() => {
      const msk = tf.maximum(tf.sum(m), 1);
      const qa = this.q[0].apply(x);
      q1 = tf.div(tf.sum(tf.mul(qa, m)), msk).dataSync()[0] as number;
      const l1 = tf.div(tf.sum(tf.mul(tf.square(tf.sub(qa, yT)), m)), msk);
      const l2 = tf.div(tf.sum(tf.mul(tf.square(tf.sub(this.q[1].apply(x), yT)), m)), msk);
      return tf.add(l1, l2) as tf.Scalar;
    }, vars);
    this.adam.step(vars.map((v) => grads[v.name]));
    const loss = (value.dataSync()[0] as number) / 2;
    tf.dispose([value, ...Object.values(grads), yT, m, x]);
    for (let i = 0; i < 2; i++) softUpdate(this.qTarget[i], this.q[i], this.c.targetTau);
    let ySum = 0;
    let y2Sum = 0;
    let yN = 0;
    for (let i = 0; i < N; i++) if (batch.criticMask[i]) (ySum += y[i]), (y2Sum += y[i] * y[i]), yN++;
    const yMean = yN ? ySum / yN : 0;
    this.window.n++;
    this.window.loss += loss;
    this.window.q += q1;
    this.window.target += yMean;
    this.window.targetVar += yN ? y2Sum / yN - yMean * yMean : 0;
    return loss;
  }

  /** The means since the last call (a point of the TD-loss curve), and a fresh window. */
  takeWindow(update: number, phase: CriticCurvePoint['phase']): CriticCurvePoint {
    const w = this.window;
    const n = Math.max(w.n, 1);
    this.window = { n: 0, loss: 0, q: 0, target: 0, targetVar: 0 };
    return { update, phase, tdLoss: w.loss / n, q: w.q / n, target: w.target / n, targetVar: w.targetVar / n };
  }

  getWeights(): Float32Array[][] {
    return [...this.q, ...this.qTarget].map((m) => m.getWeights());
  }

  dispose(): void {
    [...this.q, ...this.qTarget].forEach((m) => m.dispose());
  }
}

/**
 * `criticPretrain` TD updates of a fresh twin critic on `ds` (same sampling, normalisation and
 * reward scale as trainDt's), the TD loss logged every `logEvery` updates. Depends only on
 * (ds, the critic's settings, seed), not on η: one pretrained critic serves every η.
 */
export function pretrainCritic(ds: OfflineDataset, over: Partial<DtConfig>, seed: number, logEvery = 100): PretrainedCritic {
  const c = dtConfig(over);
  const S = ds.meta.obsDim;
  const A = ds.meta.actDim;
  // A stream of its own ("CRDT" in ASCII), so that the actor's draws do not depend on the critic's.
  const rng = new Rng(seed + 0x43524454);
  const critic = new TwinCritic(S, A, c, rng.fork());
  const sampler = new SegmentSampler(ds, c.K, c.weighting, rng.fork(), { rtgScale: c.rtgScale });
  const rewardScale = criticRewardScale(sampler.rtgScale);
  const curve: CriticCurvePoint[] = [];
  const t0 = performance.now();
  for (let u = 0; u < c.criticPretrain; u++) {
    const b = sampler.sample(c.batch, { nStep: c.nStep, gamma: c.gamma, rewardScale });
    const N = b.B * b.K;
    const states = tf.tensor2d(b.states, [N, S]);
    const actions = tf.tensor2d(b.actions, [N, A]);
    critic.update(b, states, actions, actions);
    tf.dispose([states, actions]);
    if ((u + 1) % logEvery === 0 || u === c.criticPretrain - 1) curve.push(critic.takeWindow(u, 'pretrain'));
  }
  const weights = critic.getWeights();
  critic.dispose();
  return { weights, curve, seconds: (performance.now() - t0) / 1000 };
}
