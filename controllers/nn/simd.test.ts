import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend.js';
import { Rng } from '../../src/core/rng.js';
import { Adam, softUpdate } from './index.js';
import { simdKernels } from './simd.js';

// The float32 SIMD steps (nn/simd.ts) against the float64 JS loops they stand in for.
beforeAll(async () => {
  await initBackend('wasm');
});

const sizes = [23 * 16, 16, 16 * 16, 16, 2, 7]; // sizes that are and are not multiples of 4
const vars = (rng: Rng, name: string) => sizes.map((n, i) => tf.variable(tf.tensor1d(Float32Array.from({ length: n }, () => rng.normal())), true, `${name}${i}`));
const maxAbsDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

describe('wasm SIMD Adam and Polyak (nn/simd.ts)', () => {
  it('assembles and binds to the tfjs-wasm memory', () => {
    expect(simdKernels()).not.toBeNull();
  });

  it('Adam with simd equals the float64 loop to float32 rounding over 50 steps, state round-trips', () => {
    const a = vars(new Rng(1), 'a');
    const b = vars(new Rng(1), 'b');
    const fast = new Adam(a, { lr: 1e-2, simd: true });
    const slow = new Adam(b, { lr: 1e-2 });
    const rng = new Rng(2);
    for (let step = 0; step < 50; step++) {
      const grads = sizes.map((n) => Float32Array.from({ length: n }, () => rng.normal()));
      const gradTensors = grads.map((g) => tf.tensor1d(g));
      const nFast = fast.step(gradTensors); // tensors: read in place on the heap (the SIMD path)
      const nSlow = slow.step(grads);
      expect(Math.abs(nFast - nSlow)).toBeLessThan(1e-5 * nSlow); // the norm summed in float32 lanes
      tf.dispose(gradTensors);
    }
    const diffs = a.map((v, i) => maxAbsDiff(v.dataSync() as Float32Array, b[i].dataSync() as Float32Array));
    diffs.forEach((d) => expect(d).toBeLessThan(1e-5));
    // Not bit-identical: the float32 SIMD path did run (float64 and float32 round differently somewhere).
    expect(Math.max(...diffs)).toBeGreaterThan(0);
    // The parameters moved (50 steps of lr 1e-2), so the comparison is not vacuous.
    expect(maxAbsDiff(a[2].dataSync() as Float32Array, vars(new Rng(1), 'c')[2].dataSync() as Float32Array)).toBeGreaterThan(0.1);
    const s = fast.getState();
    const ref = slow.getState();
    s.m.forEach((m, i) => expect(maxAbsDiff(m, ref.m[i])).toBeLessThan(1e-6));
    const again = new Adam(a, { lr: 1e-2, simd: true });
    again.setState(s);
    expect(again.getState()).toEqual(s);
    [...a, ...b].forEach((v) => v.dispose());
  });

  it('Polyak with simd equals the float64 loop to float32 rounding', () => {
    const t1 = { vars: vars(new Rng(3), 't1') };
    const t2 = { vars: vars(new Rng(3), 't2') };
    const src = { vars: vars(new Rng(4), 's') };
    for (let i = 0; i < 20; i++) {
      softUpdate(t1, src, 0.05, { simd: true });
      softUpdate(t2, src, 0.05);
    }
    t1.vars.forEach((v, i) => {
      const d = maxAbsDiff(v.dataSync() as Float32Array, t2.vars[i].dataSync() as Float32Array);
      expect(d).toBeLessThan(1e-5);
    });
    [...t1.vars, ...t2.vars, ...src.vars].forEach((v) => v.dispose());
  });
});
