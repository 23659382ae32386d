import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend.js';
import { Rng } from '../../src/core/rng.js';
import { mlpSpec } from '../policy/network.js';
import { blasInUse } from './blas.js';
import { withWasmMatMul } from './wasm-matmul.test-helper.js';
import { GroupedMlp, initWeights, Mlp, softUpdate } from './index.js';

// SAC's twin critics as one grouped network must be the two critics, to float tolerance: same
// weights, same batch → same outputs, same loss, same gradients (weights and input).
const backend = { blas: false };
beforeAll(async () => {
  const report = await initBackend('wasm');
  backend.blas = !!report.blas && 'library' in report.blas;
});


const maxAbsDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

function twin(layerNorm: boolean) {
  const rng = new Rng(7);
  const spec = mlpSpec({ inputSize: 23, hidden: [32, 24], outputSize: 1, layerNorm });
  const w1 = initWeights(spec, rng);
  const w2 = initWeights(spec, rng);
  // LayerNorm γ, β start at 1, 0: perturb them so a member mix-up would show.
  for (const w of [...w1, ...w2]) if (w.length === 32 || w.length === 24) for (let i = 0; i < w.length; i++) w[i] += 0.1 * rng.normal();
  const q = [new Mlp(spec, w1, 'q1'), new Mlp(spec, w2, 'q2')];
  const grouped = new GroupedMlp(spec, 2, [w1, w2], 'q');
  const x = tf.tensor2d(Float32Array.from({ length: 64 * 23 }, () => rng.normal()), [64, 23]);
  const y = tf.tensor1d(Float32Array.from({ length: 64 }, () => rng.normal()));
  return { spec, q, grouped, x, y, dispose: () => [...q, grouped].forEach((n) => n.dispose()) };
}

/** Critic loss Σ_k mean((Q_k − y)²), its value and weight gradients, both ways (member-major). */
function criticLoss(t: ReturnType<typeof twin>) {
  const sep = tf.variableGrads(() => tf.addN(t.q.map((n) => tf.mean(tf.squaredDifference(tf.reshape(n.apply(t.x), [-1]), t.y)))) as tf.Scalar, t.q.flatMap((n) => n.vars));
  const grp = tf.variableGrads(() => tf.sum(tf.mean(tf.squaredDifference(t.grouped.apply(t.x), tf.reshape(t.y, [-1, 1])), 0)) as tf.Scalar, t.grouped.vars);
  const sepGrads = t.q.flatMap((n) => n.vars.map((v) => sep.grads[v.name].dataSync() as Float32Array));
  const grpGrads = t.grouped.unstack(t.grouped.vars.map((v) => grp.grads[v.name].dataSync() as Float32Array));
  const out = { sepLoss: sep.value.dataSync()[0], grpLoss: grp.value.dataSync()[0], sepGrads, grpGrads };
  tf.dispose([sep.value, grp.value, ...Object.values(sep.grads), ...Object.values(grp.grads)]);
  return out;
}

/** ∂ mean(min(Q1, Q2)) / ∂x with the critics frozen (the actor's loss), both ways. */
function inputGrad(t: ReturnType<typeof twin>) {
  const sep = tf.grad((x: tf.Tensor) => {
    const [a, b] = t.q.map((n) => tf.reshape(n.apply(x as tf.Tensor2D, null, { frozen: true }), [-1]));
    return tf.mean(tf.minimum(a, b));
  })(t.x);
  const grp = tf.grad((x: tf.Tensor) => tf.mean(tf.min(t.grouped.apply(x as tf.Tensor2D, null, { frozen: true }), 1)))(t.x);
  const out = [sep.dataSync() as Float32Array, grp.dataSync() as Float32Array];
  tf.dispose([sep, grp]);
  return out;
}

describe('GroupedMlp: twin critics as one network (nn/grouped-mlp.ts)', () => {
  // Built and run with OpenBLAS; built with it, run without (stacked weights through tfjs ops); built
  // without it (K separate member networks).
  for (const path of ['OpenBLAS grouped kernels', 'stacked weights, tfjs ops', 'separate members'] as const) {
    for (const layerNorm of [false, true]) {
      it(`${path}${layerNorm ? ', with LayerNorm' : ''}: outputs, loss, weight and input gradients equal two separate critics`, () => {
        const run = (t: ReturnType<typeof twin>) => {
          // Forward, differentiated and not: column k is member k.
          const sep = tf.concat(t.q.map((n) => n.apply(t.x)), 1);
          const grp = t.grouped.apply(t.x);
          const grpNoGrad = t.grouped.apply(t.x, null, { noGrad: true });
          expect(grp.shape).toEqual([64, 2]);
          expect(maxAbsDiff(grp.dataSync() as Float32Array, sep.dataSync() as Float32Array)).toBeLessThan(1e-5);
          expect(maxAbsDiff(grpNoGrad.dataSync() as Float32Array, sep.dataSync() as Float32Array)).toBeLessThan(1e-5);
          tf.dispose([sep, grp, grpNoGrad]);
          const c = criticLoss(t);
          expect(Math.abs(c.grpLoss - c.sepLoss)).toBeLessThan(1e-5 * Math.max(1, Math.abs(c.sepLoss)));
          expect(c.grpGrads.length).toBe(c.sepGrads.length);
          c.sepGrads.forEach((g, i) => {
            expect(c.grpGrads[i].length).toBe(g.length);
            expect(maxAbsDiff(c.grpGrads[i], g)).toBeLessThan(1e-5);
          });
          // The gradients are not all zero (the comparison could not pass vacuously).
          expect(Math.max(...c.sepGrads.map((g) => g.reduce((m, v) => Math.max(m, Math.abs(v)), 0)))).toBeGreaterThan(1e-3);
          const [gs, gg] = inputGrad(t);
          expect(maxAbsDiff(gg, gs)).toBeLessThan(1e-6);
          expect(gs.some((v) => v !== 0)).toBe(true);
          t.x.dispose();
          t.y.dispose();
          t.dispose();
        };
        if (path === 'separate members') withWasmMatMul(() => run(twin(layerNorm)));
        else if (!backend.blas) expect(blasInUse()).toBeNull(); // no OpenBLAS here: the separate-members case covers the maths
        else if (path === 'stacked weights, tfjs ops') {
          const t = twin(layerNorm);
          withWasmMatMul(() => run(t));
        } else run(twin(layerNorm));
      });
    }
  }

  it('member-major weights round-trip, and Polyak over the stacked variables equals Polyak per critic', () => {
    const t = twin(false);
    const w = t.grouped.getWeights();
    const sepW = t.q.flatMap((n) => n.getWeights());
    expect(w.map((a) => Array.from(a))).toEqual(sepW.map((a) => Array.from(a)));
    const target = new GroupedMlp(t.spec, 2, [t.q[0].getWeights().map((a) => a.map((v) => v + 1)), t.q[1].getWeights().map((a) => a.map((v) => v - 1))], 'qt');
    const sepTargets = [0, 1].map((k) => new Mlp(t.spec, t.q[k].getWeights().map((a) => a.map((v) => v + (k ? -1 : 1))), `qt${k}`));
    softUpdate(target, t.grouped, 0.005);
    sepTargets.forEach((n, k) => softUpdate(n, t.q[k], 0.005));
    const a = target.getWeights();
    const b = sepTargets.flatMap((n) => n.getWeights());
    a.forEach((arr, i) => expect(Array.from(arr)).toEqual(Array.from(b[i])));
    expect(tf.memory().numTensors).toBeGreaterThan(0);
    target.setWeights(sepW);
    expect(target.getWeights().map((x) => Array.from(x))).toEqual(sepW.map((x) => Array.from(x)));
    [target, ...sepTargets].forEach((n) => n.dispose());
    t.x.dispose();
    t.y.dispose();
    t.dispose();
  });
});
