import * as tf from '@tensorflow/tfjs';
import { readView } from './storage.js';

/**
 * Losses over a grouped network's output [B, K] (one column per member: SAC's Q1, Q2) as single
 * ops with the backward written out: a JS loop over B·K values on the tensors' storage (wasm,
 * cpu) in place of ~12–17 small kernels each way. Where there is no storage view (webgpu,
 * tfjs-node) the same maths runs in tfjs ops.
 */
type KernelFuncEngine = {
  runKernelFunc(p: { forwardFunc: () => tf.Tensor; backwardsFunc: (dy: tf.Tensor) => Record<number, () => tf.Tensor>; inputs: Record<number, tf.Tensor> }): tf.Tensor;
};
const engine = () => tf.engine() as unknown as KernelFuncEngine;
const values = (t: tf.Tensor) => readView(t) ?? (t.dataSync() as Float32Array);

/** Σ_k mean_b (q[b, k] − y[b])²: the twin critics' loss against one target y [B]. ∂q = 2(q − y)/B. */
export function columnMseSum(q: tf.Tensor2D, y: Float32Array): tf.Scalar {
  const [B, K] = q.shape;
  if (y.length !== B) throw new RangeError(`columnMseSum: ${y.length} targets for ${B} rows`);
  if (!readView(q)) return tf.sum(tf.mean(tf.squaredDifference(q, tf.tensor2d(y, [B, 1])), 0)) as tf.Scalar;
  const diff = new Float64Array(B * K);
  const forwardFunc = () => {
    const v = readView(q)!;
    const sums = new Float64Array(K);
    for (let b = 0; b < B; b++) {
      for (let k = 0; k < K; k++) {
        const d = v[b * K + k] - y[b];
        diff[b * K + k] = d;
        sums[k] += d * d;
      }
    }
    let loss = 0;
    for (let k = 0; k < K; k++) loss += sums[k] / B;
    return tf.scalar(loss);
  };
  const backwardsFunc = (dy: tf.Tensor) => ({
    0: () => {
      const g = (2 * values(dy)[0]) / B;
      return tf.tensor2d(Float32Array.from(diff, (d) => g * d), [B, K]);
    },
  });
  return engine().runKernelFunc({ forwardFunc, backwardsFunc, inputs: { 0: q } }) as tf.Scalar;
}

/**
 * mean_b (α·logπ[b] − min_k q[b, k]): SAC's actor loss with the critics' output [B, K].
 * ∂logπ = α/B; ∂q = −1/B on every column equal to its row's min (as tfjs's Min).
 */
export function softMinObjective(logProb: tf.Tensor1D, q: tf.Tensor2D, alpha: number): tf.Scalar {
  const [B, K] = q.shape;
  if (!readView(q) || !readView(logProb)) return tf.mean(tf.sub(tf.mul(alpha, logProb), tf.min(q, 1))) as tf.Scalar;
  // Which columns hold each row's min, for the backward (the inputs are gone by then: only JS state is kept).
  const isMin = new Uint8Array(B * K);
  const forwardFunc = () => {
    const v = readView(q)!;
    const lp = readView(logProb)!;
    let s = 0;
    for (let b = 0; b < B; b++) {
      let m = v[b * K];
      for (let k = 1; k < K; k++) m = Math.min(m, v[b * K + k]);
      for (let k = 0; k < K; k++) isMin[b * K + k] = v[b * K + k] === m ? 1 : 0;
      s += alpha * lp[b] - m;
    }
    return tf.scalar(s / B);
  };
  const backwardsFunc = (dy: tf.Tensor) => {
    const g = values(dy)[0] / B;
    return {
      0: () => tf.fill([B], alpha * g) as tf.Tensor1D,
      1: () => tf.tensor2d(Float32Array.from(isMin, (m) => -g * m), [B, K]),
    };
  };
  return engine().runKernelFunc({ forwardFunc, backwardsFunc, inputs: { 0: logProb, 1: q } }) as tf.Scalar;
}
