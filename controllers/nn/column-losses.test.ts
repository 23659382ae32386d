import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend.js';
import { Rng } from '../../src/core/rng.js';
import { readView } from './storage.js';
import { columnMseSum, softMinObjective } from './index.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

describe('column losses (nn/column-losses.ts): SAC’s twin-critic losses as single ops', () => {
  const rng = new Rng(5);
  const B = 128;
  const q = tf.tensor2d(Float32Array.from({ length: B * 2 }, () => 3 * rng.normal()), [B, 2]);
  const lp = tf.tensor1d(Float32Array.from({ length: B }, () => rng.normal() - 4));
  const y = Float32Array.from({ length: B }, () => 3 * rng.normal());

  it('columnMseSum = Σ_k MSE(Q_k, y), value and ∂Q, as the tfjs ops', () => {
    expect(readView(q)).not.toBeNull(); // the JS path runs
    const ref = (x: tf.Tensor) => tf.sum(tf.mean(tf.squaredDifference(x, tf.tensor2d(y, [B, 1])), 0)) as tf.Scalar;
    const fused = (x: tf.Tensor) => columnMseSum(x as tf.Tensor2D, y);
    expect(Math.abs(fused(q).dataSync()[0] - ref(q).dataSync()[0])).toBeLessThan(1e-4);
    const [gF, gR] = [tf.grad(fused)(q), tf.grad(ref)(q)];
    expect(tf.max(tf.abs(gR)).dataSync()[0]).toBeGreaterThan(1e-3);
    expect(maxAbsDiff(gF, gR)).toBeLessThan(1e-6);
    expect(() => columnMseSum(q, new Float32Array(3))).toThrow(/targets/);
  });

  it('softMinObjective = mean(α·log π − min(Q1, Q2)), value and both gradients, as the tfjs ops', () => {
    const alpha = 0.3;
    const ref = (l: tf.Tensor, x: tf.Tensor) => tf.mean(tf.sub(tf.mul(alpha, l), tf.min(x, 1))) as tf.Scalar;
    const fused = (l: tf.Tensor, x: tf.Tensor) => softMinObjective(l as tf.Tensor1D, x as tf.Tensor2D, alpha);
    expect(Math.abs(fused(lp, q).dataSync()[0] - ref(lp, q).dataSync()[0])).toBeLessThan(1e-5);
    const gF = tf.grads(fused)([lp, q]);
    const gR = tf.grads(ref)([lp, q]);
    gF.forEach((g, i) => expect(maxAbsDiff(g, gR[i])).toBeLessThan(1e-7));
    // ∂Q is −1/B on each row's smaller column only.
    const dq = gF[1].dataSync();
    for (let b = 0; b < B; b++) expect(dq[2 * b] + dq[2 * b + 1]).toBeCloseTo(-1 / B, 7);
  });
});
