import * as tf from '@tensorflow/tfjs';
import { tanhGaussianSample } from './distributions.js';
import { readView } from './storage.js';

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);
const LOG_2 = Math.log(2);
const softplus = (x: number) => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** Split the actor output into mean and log σ; log σ is tanh-squashed into [lo, hi] (CleanRL). The tfjs-ops form. */
export function squashedLogStdHead(out: tf.Tensor2D, lo: number, hi: number): { mean: tf.Tensor2D; logStd: tf.Tensor2D } {
  const A = out.shape[1] / 2;
  const [mean, raw] = tf.split(out, [A, A], 1) as [tf.Tensor2D, tf.Tensor2D];
  const logStd = tf.add(lo, tf.mul(0.5 * (hi - lo), tf.add(tf.tanh(raw), 1))) as tf.Tensor2D;
  return { mean, logStd };
}

/**
 * SAC's actor head as one op: the actor's output [B, 2A] (μ | raw) and noise ε [B·A] give
 * log σ = lo + ½(hi − lo)(tanh(raw) + 1), u = μ + σ·ε, a = tanh(u) and
 * log π(a) = Σ_i [−½ε² − log σ − ½log 2π − 2(log 2 − u − softplus(−2u))] (as `tanhGaussianSample`),
 * with the backward written out:
 *   ∂u = ∂a·(1 − a²) + ∂log π·(2 − 4·sigmoid(−2u)),  ∂μ = ∂u,
 *   ∂log σ = ∂u·σ·ε − ∂log π,  ∂raw = ∂log σ·½(hi − lo)(1 − tanh²(raw)).
 *
 * Why: the same maths in tfjs ops is ~22 small kernels forward and ~30 backward on [B, A]
 * tensors, each a dispatch, a tape node and a tensor; here it is a JS loop over B·A values on the
 * tensors' storage (wasm, cpu). Elsewhere (no storage view: webgpu, tfjs-node) the tfjs ops run.
 */
export function tanhGaussianHead(out: tf.Tensor2D, eps: Float32Array, lo: number, hi: number): { action: tf.Tensor2D; logProb: tf.Tensor1D } {
  const [B, twoA] = out.shape;
  const A = twoA / 2;
  if (eps.length !== B * A) throw new RangeError(`tanhGaussianHead: ${eps.length} noise values for [${B}, ${A}]`);
  if (!readView(out)) {
    const { mean, logStd } = squashedLogStdHead(out, lo, hi);
    const s = tanhGaussianSample(mean, logStd, tf.tensor2d(eps, [B, A]));
    return { action: s.action, logProb: s.logProb };
  }
  const half = 0.5 * (hi - lo);
  // Kept for the backward: tanh(raw), σ and u, per element.
  const tRaw = new Float64Array(B * A);
  const sigma = new Float64Array(B * A);
  const pre = new Float64Array(B * A);
  const act = new Float32Array(B * A);
  const logProb = new Float32Array(B);
  const forwardFunc = () => {
    const o = readView(out)!;
    for (let b = 0; b < B; b++) {
      let lp = 0;
      for (let i = 0; i < A; i++) {
        const j = b * A + i;
        const t = Math.tanh(o[b * twoA + A + i]);
        const logStd = lo + half * (t + 1);
        const s = Math.exp(logStd);
        const e = eps[j];
        const u = o[b * twoA + i] + s * e;
        tRaw[j] = t;
        sigma[j] = s;
        pre[j] = u;
        act[j] = Math.tanh(u);
        lp += -0.5 * e * e - logStd - HALF_LOG_2PI - 2 * (LOG_2 - u - softplus(-2 * u));
      }
      logProb[b] = lp;
    }
    return [tf.tensor2d(act, [B, A]), tf.tensor1d(logProb)];
  };
  const backwardsFunc = (dys: tf.Tensor[]) => ({
    0: () => {
      const dA = readView(dys[0]) ?? (dys[0].dataSync() as Float32Array);
      const dLp = readView(dys[1]) ?? (dys[1].dataSync() as Float32Array);
      const dOut = new Float32Array(B * twoA);
      for (let b = 0; b < B; b++) {
        for (let i = 0; i < A; i++) {
          const j = b * A + i;
          const u = pre[j];
          const a = Math.tanh(u);
          const du = dA[j] * (1 - a * a) + dLp[b] * (2 - 4 * sigmoid(-2 * u));
          const dLogStd = du * sigma[j] * eps[j] - dLp[b];
          dOut[b * twoA + i] = du;
          dOut[b * twoA + A + i] = dLogStd * half * (1 - tRaw[j] * tRaw[j]);
        }
      }
      return tf.tensor2d(dOut, [B, twoA]);
    },
  });
  const engine = tf.engine() as unknown as { runKernelFunc(p: { forwardFunc: () => tf.Tensor[]; backwardsFunc: (dys: tf.Tensor[]) => Record<number, () => tf.Tensor>; inputs: Record<number, tf.Tensor> }): tf.Tensor[] };
  const [action, lp] = engine.runKernelFunc({ forwardFunc, backwardsFunc, inputs: { 0: out } });
  return { action: action as tf.Tensor2D, logProb: lp as tf.Tensor1D };
}
