import { describe, expect, it, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend.js';
import { Rng } from '../../src/core/rng.js';
import { mlpSpec } from '../policy/network.js';
import { Adam, Mlp, initWeights, softUpdate, tanhGaussianSample, tanhGaussianLogProbScalar, tanhGaussianLogProb } from './index.js';

beforeAll(async () => {
  await initBackend('wasm');
});

/** Standard normal CDF via erf (Abramowitz–Stegun 7.1.26 is too coarse; use a series). */
function normCdf(x: number): number {
  // Integrate the density with Simpson's rule from -10 to x: accurate to ~1e-10.
  const f = (t: number) => Math.exp(-0.5 * t * t) / Math.sqrt(2 * Math.PI);
  const a = -10;
  const n = 20000;
  const h = (x - a) / n;
  let s = f(a) + f(x);
  for (let i = 1; i < n; i++) s += (i % 2 ? 4 : 2) * f(a + i * h);
  return (s * h) / 3;
}

describe('tanh-Gaussian log-prob', () => {
  it('integrates to the Gaussian mass of the pre-image (numeric integral)', () => {
    const mu = 0.7;
    const sigma = 0.9;
    const [a1, a2] = [-0.5, 0.95];
    const n = 20000;
    const h = (a2 - a1) / n;
    let s = 0;
    for (let i = 0; i <= n; i++) {
      const w = i === 0 || i === n ? 1 : i % 2 ? 4 : 2;
      s += w * Math.exp(tanhGaussianLogProbScalar(a1 + i * h, mu, sigma));
    }
    const integral = (s * h) / 3;
    const expected = normCdf((Math.atanh(a2) - mu) / sigma) - normCdf((Math.atanh(a1) - mu) / sigma);
    expect(Math.abs(integral - expected)).toBeLessThan(1e-6);
  });

  it('tensor log-prob of a sample equals the scalar density, and the stable correction matches', () => {
    const mean = tf.tensor2d([[0.3, -1.2]]);
    const logStd = tf.tensor2d([[Math.log(0.5), Math.log(1.5)]]);
    const eps = tf.tensor2d([[0.4, 2.5]]);
    const { action, logProb } = tanhGaussianSample(mean, logStd, eps);
    const a = action.dataSync();
    const expected = tanhGaussianLogProbScalar(a[0], 0.3, 0.5) + tanhGaussianLogProbScalar(a[1], -1.2, 1.5);
    expect(logProb.dataSync()[0]).toBeCloseTo(expected, 3);
    const again = tanhGaussianLogProb(action, mean, logStd).dataSync()[0];
    expect(again).toBeCloseTo(expected, 2);
    tf.dispose([mean, logStd, eps, action, logProb]);
  });
});

describe('Mlp, Adam, soft update', () => {
  it('fits a small regression and Adam state round-trips bit-exactly', () => {
    const rng = new Rng(1);
    const spec = mlpSpec({ inputSize: 3, hidden: [16], outputSize: 1, dropout: 0.01, layerNorm: true });
    const net = new Mlp(spec, initWeights(spec, rng));
    const opt = new Adam(net.vars, { lr: 1e-2 });
    const x = tf.tensor2d(Array.from({ length: 64 * 3 }, () => rng.uniform(-1, 1)), [64, 3]);
    const y = tf.tidy(() => x.sum(1, true));
    const before = tf.memory().numTensors;
    const lossAt = () => {
      const { value, grads } = tf.variableGrads(() => tf.losses.meanSquaredError(y, net.apply(x, rng)) as tf.Scalar, net.vars);
      const list = net.vars.map((v) => grads[v.name]);
      opt.step(list);
      const l = value.dataSync()[0];
      tf.dispose([value, ...list]);
      return l;
    };
    const first = lossAt();
    let last = first;
    for (let i = 0; i < 100; i++) last = lossAt();
    expect(last).toBeLessThan(first * 0.2);
    expect(tf.memory().numTensors).toBe(before);

    // Bit-exact continuation from saved weights + Adam state + rng state.
    const saved = { w: net.getWeights(), s: opt.getState(), r: rng.getState() };
    for (let i = 0; i < 5; i++) lossAt();
    const ref = net.getWeights();
    net.setWeights(saved.w);
    opt.setState(saved.s);
    rng.setState(saved.r);
    for (let i = 0; i < 5; i++) lossAt();
    net.getWeights().forEach((w, i) => expect(Buffer.from(w.buffer).equals(Buffer.from(ref[i].buffer))).toBe(true));

    const target = new Mlp(spec, initWeights(spec, new Rng(2)));
    const t0 = target.getWeights()[0][0];
    const s0 = net.getWeights()[0][0];
    softUpdate(target, net, 0.1);
    expect(target.getWeights()[0][0]).toBeCloseTo(0.1 * s0 + 0.9 * t0, 6);
    tf.dispose([x, y]);
    net.dispose();
    target.dispose();
  });

  it('the transpose-free matMul gradient equals the analytic gradient', () => {
    const a = tf.tensor2d([[1, 2], [3, 4], [5, 6]]);
    const b = tf.tensor2d([[0.5, -1, 2], [1.5, 0, -0.5]]);
    const [ga, gb] = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.matMul(p as tf.Tensor2D, q as tf.Tensor2D).sum())([a, b]);
    // d/dA sum(AB) = 1·Bᵀ; d/dB = Aᵀ·1
    expect(Array.from(ga.dataSync())).toEqual([1.5, 1, 1.5, 1, 1.5, 1]);
    expect(Array.from(gb.dataSync())).toEqual([9, 9, 9, 12, 12, 12]);
    // A narrow output (N = 1) takes the dCᵀ·A path; compare with the analytic gradient.
    const x = tf.tensor2d([[1, 2, 3], [4, 5, 6]]);
    const w = tf.tensor2d([[1], [2], [3]]);
    const [gx, gw] = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.matMul(p as tf.Tensor2D, q as tf.Tensor2D).mul(tf.tensor2d([[2], [3]])).sum())([x, w]);
    expect(Array.from(gw.dataSync())).toEqual([2 * 1 + 3 * 4, 2 * 2 + 3 * 5, 2 * 3 + 3 * 6]);
    expect(Array.from(gx.dataSync())).toEqual([2, 4, 6, 3, 6, 9]);
    tf.dispose([a, b, ga, gb, x, w, gx, gw]);
  });
});

describe('dropout mask', () => {
  it('drops a fraction p, scales the rest by 1/(1−p), and is reproducible from the Rng state', async () => {
    const { dropoutMask } = await import('./mlp.js');
    const rng = new Rng(11);
    const state = rng.getState();
    const m = dropoutMask(rng, 256, 256, 0.1);
    const v = m.dataSync();
    const dropped = v.filter((x) => x === 0).length / v.length;
    expect(Math.abs(dropped - 0.1)).toBeLessThan(0.01);
    expect(v.find((x) => x !== 0)).toBeCloseTo(1 / 0.9, 6);
    rng.setState(state);
    const again = dropoutMask(rng, 256, 256, 0.1);
    expect(Array.from(again.dataSync())).toEqual(Array.from(v));
    tf.dispose([m, again]);
  });
});

describe('layerNorm', () => {
  it('hand-written gradient equals autodiff through the forward ops', async () => {
    const { layerNorm, layerNormReference } = await import('./mlp.js');
    const rng = new Rng(21);
    const x = tf.tensor2d(Array.from({ length: 5 * 7 }, () => rng.normal(1, 2)), [5, 7]);
    const g = tf.tensor1d(Array.from({ length: 7 }, () => rng.normal(1, 0.3)));
    const b = tf.tensor1d(Array.from({ length: 7 }, () => rng.normal()));
    const w = tf.tensor2d(Array.from({ length: 5 * 7 }, () => rng.normal()), [5, 7]);
    const loss = (f: typeof layerNorm) => (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(tf.square(f(xx as tf.Tensor2D, gg, bb, 1e-5)), w));
    const ours = tf.grads(loss(layerNorm))([x, g, b]);
    const ref = tf.grads(loss(layerNormReference))([x, g, b]);
    expect(Array.from(layerNorm(x, g, b, 1e-5).dataSync())).toEqual(Array.from(layerNormReference(x, g, b, 1e-5).dataSync()));
    ours.forEach((t, i) => {
      const a = t.dataSync();
      const r = ref[i].dataSync();
      for (let k = 0; k < a.length; k++) expect(a[k]).toBeCloseTo(r[k], 4);
    });
  });
});
