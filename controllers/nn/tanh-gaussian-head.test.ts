import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend.js';
import { Rng } from '../../src/core/rng.js';
import { readView } from './storage.js';
import { squashedLogStdHead, tanhGaussianHead, tanhGaussianSample } from './index.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

describe('tanhGaussianHead (nn/tanh-gaussian-head.ts): one op for the actor head and the tanh-Gaussian', () => {
  it('gives the tfjs-ops path’s action, log π and gradient (saturated actions included)', () => {
    const rng = new Rng(3);
    const B = 64;
    const A = 6;
    // Some means far out, so that tanh saturates where the log-det correction matters most.
    const out = tf.tensor2d(Float32Array.from({ length: B * 2 * A }, (_, i) => (i % 17 === 0 ? 8 : 1.5) * rng.normal()), [B, 2 * A]);
    const eps = Float32Array.from({ length: B * A }, () => rng.normal());
    expect(readView(out)).not.toBeNull(); // the JS path runs (wasm storage)
    const wA = tf.tensor2d(Float32Array.from({ length: B * A }, () => rng.normal()), [B, A]);
    const wL = tf.tensor1d(Float32Array.from({ length: B }, () => rng.normal()));
    const loss = (x: tf.Tensor2D, fused: boolean) => {
      const s = fused ? tanhGaussianHead(x, eps, -5, 2) : (() => {
        const { mean, logStd } = squashedLogStdHead(x, -5, 2);
        return tanhGaussianSample(mean, logStd, tf.tensor2d(eps, [B, A]));
      })();
      return { s, l: tf.add(tf.sum(tf.mul(s.action, wA)), tf.sum(tf.mul(s.logProb, wL))) as tf.Scalar };
    };
    const fused = loss(out, true).s;
    const ref = loss(out, false).s;
    expect(maxAbsDiff(fused.action, ref.action)).toBeLessThan(1e-5);
    expect(maxAbsDiff(fused.logProb, ref.logProb)).toBeLessThan(1e-3 * Math.max(1, tf.max(tf.abs(ref.logProb)).dataSync()[0]) );
    const gFused = tf.grad((x: tf.Tensor) => loss(x as tf.Tensor2D, true).l)(out);
    const gRef = tf.grad((x: tf.Tensor) => loss(x as tf.Tensor2D, false).l)(out);
    const scale = tf.max(tf.abs(gRef)).dataSync()[0];
    expect(scale).toBeGreaterThan(1e-2);
    expect(maxAbsDiff(gFused, gRef)).toBeLessThan(1e-4 * scale);
    // Only the log π path: its gradient alone matches too (the two outputs' gradients are not mixed up).
    const gLp = (fusedPath: boolean) => tf.grad((x: tf.Tensor) => tf.sum(loss(x as tf.Tensor2D, fusedPath).s.logProb) as tf.Scalar)(out);
    expect(maxAbsDiff(gLp(true), gLp(false))).toBeLessThan(1e-4 * Math.max(1, tf.max(tf.abs(gLp(false))).dataSync()[0]));
    expect(() => tanhGaussianHead(out, new Float32Array(3), -5, 2)).toThrow(/noise/);
  });
});
