import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend.js';
import { Rng } from '../../src/core/rng.js';
import { mlpSpec } from '../policy/network.js';
import { withWasmMatMul } from './wasm-matmul.test-helper.js';
import { Adam, dense, initWeights, Mlp, softUpdate } from './index.js';
import { readView, writableView } from './storage.js';

// The kernels here replace tfjs-wasm's own; each is checked against what it replaces, on real tfjs.
const backend = { blas: false };
beforeAll(async () => {
  const report = await initBackend('wasm');
  backend.blas = !!report.blas && 'library' in report.blas;
});

const rand = (rng: Rng, shape: number[]) => tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()), shape);
const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);


describe('OpenBLAS matMul kernels (nn/blas.ts)', () => {
  it('report whether OpenBLAS is in use, and why not when it is not', async () => {
    const report = await initBackend('wasm');
    expect(report.blas).toBeDefined();
    if (backend.blas) expect(report.notes.join(' ')).toMatch(/OpenBLAS/);
    else expect((report.blas as { unavailable: string }).unavailable).toMatch(/\S/);
  });

  it('match XNNPACK for plain, transposed, batched and broadcast products', () => {
    const rng = new Rng(1);
    const cases: [number[], number[], boolean, boolean][] = [
      [[7, 5], [5, 3], false, false],
      [[5, 7], [5, 3], true, false],
      [[7, 5], [3, 5], false, true],
      [[5, 7], [3, 5], true, true],
      [[2, 7, 5], [2, 5, 3], false, false],
      [[7, 5], [2, 5, 3], false, false],
      [[2, 5, 7], [5, 3], true, false],
      [[64, 23], [23, 256], false, false],
    ];
    for (const [sa, sb, ta, tb] of cases) {
      const a = rand(rng, sa);
      const b = rand(rng, sb);
      const ours = tf.matMul(a, b, ta, tb);
      const theirs = withWasmMatMul(() => tf.matMul(a, b, ta, tb));
      expect(ours.shape).toEqual(theirs.shape);
      expect(maxAbsDiff(ours, theirs)).toBeLessThan(1e-4);
      tf.dispose([a, b, ours, theirs]);
    }
  });

  it('fused matMul with bias and relu / linear matches XNNPACK, and leaks nothing', () => {
    const rng = new Rng(2);
    const a = rand(rng, [33, 17]);
    const b = rand(rng, [17, 9]);
    const bias = rand(rng, [9]);
    const before = tf.memory().numTensors;
    for (const activation of ['relu', 'linear'] as const) {
      const ours = tf.fused.matMul({ a, b, bias, activation });
      const theirs = withWasmMatMul(() => tf.fused.matMul({ a, b, bias, activation }));
      expect(maxAbsDiff(ours, theirs)).toBeLessThan(1e-4);
      if (activation === 'relu') expect(tf.tidy(() => tf.min(ours).dataSync()[0])).toBeGreaterThanOrEqual(0);
      tf.dispose([ours, theirs]);
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([a, b, bias]);
  });
});

describe('fused dense layer with a hand-written backward (nn/mlp.ts dense)', () => {
  it('gives the gradients autodiff gives through matMul + add + relu', () => {
    const rng = new Rng(3);
    const x = rand(rng, [16, 6]) as tf.Tensor2D;
    const W = rand(rng, [6, 5]);
    const b = rand(rng, [5]);
    const up = rand(rng, [16, 5]);
    for (const act of ['relu', 'linear', 'tanh'] as const) {
      const loss = (f: (x: tf.Tensor2D, W: tf.Tensor, b: tf.Tensor) => tf.Tensor) => (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(f(xx as tf.Tensor2D, ww, bb), up));
      const ref = (xx: tf.Tensor2D, ww: tf.Tensor, bb: tf.Tensor) => {
        const h = tf.add(tf.matMul(xx, ww as tf.Tensor2D), bb);
        return act === 'relu' ? tf.relu(h) : act === 'tanh' ? tf.tanh(h) : h;
      };
      const ours = tf.grads(loss((xx, ww, bb) => dense(xx, ww, bb, act)))([x, W, b]);
      const theirs = tf.grads(loss(ref))([x, W, b]);
      for (let i = 0; i < 3; i++) expect(maxAbsDiff(ours[i], theirs[i])).toBeLessThan(1e-4);
      // Frozen: the same input gradient, and no edge to the weights.
      const frozen = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(dense(xx as tf.Tensor2D, W, b, act, true), up)))(x);
      expect(maxAbsDiff(frozen, theirs[0])).toBeLessThan(1e-4);
      tf.dispose([...ours, ...theirs, frozen]);
    }
    tf.dispose([x, W, b, up]);
  });
});

describe('in-place optimiser and Polyak updates (nn/storage.ts)', () => {
  it('Adam in place equals Adam through copies and assign, bit for bit', () => {
    const spec = mlpSpec({ inputSize: 4, hidden: [8], outputSize: 2 });
    const w = initWeights(spec, new Rng(4));
    const a = new Mlp(spec, w, 'a');
    const c = new Mlp(spec, w, 'c');
    const optA = new Adam(a.vars, { lr: 1e-2, weightDecay: 1e-3, maxGradNorm: 0.5 });
    const optC = new Adam(c.vars, { lr: 1e-2, weightDecay: 1e-3, maxGradNorm: 0.5 });
    const rng = new Rng(5);
    for (let step = 0; step < 5; step++) {
      const g = a.vars.map((v) => Float32Array.from({ length: v.size }, () => rng.normal()));
      optA.step(a.vars.map((v, i) => tf.tensor(g[i], v.shape)));
      // c's variables are shared with a clone each step: never writable, so the copying path runs.
      const clones = c.vars.map((v) => v.clone());
      expect(c.vars.every((v) => writableView(v) === null)).toBe(true);
      optC.step(g);
      tf.dispose(clones);
    }
    expect(a.vars.some((v) => writableView(v) !== null)).toBe(true);
    expect(a.getWeights()).toEqual(c.getWeights());
    // Soft update in place (target owns its storage) equals the formula.
    const before = c.getWeights();
    softUpdate(c, a, 0.1);
    const src = a.getWeights();
    c.getWeights().forEach((t, i) => t.forEach((x, j) => expect(x).toBe(Math.fround(0.1 * src[i][j] + 0.9 * before[i][j]))));
    a.dispose();
    c.dispose();
  });

  it('readView sees the values without copying', () => {
    const t = tf.tensor([1, 2, 3]);
    expect(Array.from(readView(t)!)).toEqual([1, 2, 3]);
    t.dispose();
  });
});
