import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnv } from '../../sim/registry.js';
import { initBackend } from '../backend.js';
import type { LearnHooks } from '../learner.js';
import { loadPolicy } from '../policy/index.js';
import { computeGae } from './gae.js';
import { ppoLoss } from './loss.js';
import { createPpo, parsePpoConfig, type PpoLearner } from './ppo.js';
import { PpoConfigSchema } from './config.js';
import { PpoNets } from './nets.js';
import { Rng } from '../../src/core/rng.js';
import { Box, Discrete } from '../../src/core/spaces.js';

const quiet: LearnHooks = { log() {}, episode() {} };
let tmp: string;
beforeAll(async () => {
  await initBackend('wasm');
  tmp = mkdtempSync(path.join(tmpdir(), 'embody-ppo-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('GAE', () => {
  it('matches a hand-computed case with termination and truncation bootstrapping', () => {
    // T = 3 steps, N = 2 envs, γ = 0.9, λ = 0.8 (index t·N + i).
    // env 0: no episode end, V(s_3) = 2.
    //   δ2 = 3 + 0.9·2 − 1.5 = 3.3;            A2 = 3.3
    //   δ1 = 2 + 0.9·1.5 − 1 = 2.35;           A1 = 2.35 + 0.72·3.3   = 4.726
    //   δ0 = 1 + 0.9·1 − 0.5 = 1.4;            A0 = 1.4  + 0.72·4.726 = 4.80272
    // env 1: terminated at t=0, truncated at t=1 with V(final obs) = 10, V(s_3) = 5.
    //   δ2 = 1 + 0.9·5 − 4 = 1.5;              A2 = 1.5
    //   δ1 = 1 + 0.9·10 − 3 = 7 (bootstrap from the final obs, not from the next row); A1 = 7
    //   δ0 = 1 + 0 − 2 = −1 (terminal: no future);  A0 = −1
    const { advantages, returns } = computeGae({
      numSteps: 3,
      numEnvs: 2,
      rewards: Float32Array.of(1, 1, 2, 1, 3, 1),
      values: Float32Array.of(0.5, 2, 1, 3, 1.5, 4),
      terminated: Uint8Array.of(0, 1, 0, 0, 0, 0),
      truncated: Uint8Array.of(0, 0, 0, 1, 0, 0),
      truncationValues: Float32Array.of(0, 0, 0, 10, 0, 0),
      lastValues: Float32Array.of(2, 5),
      gamma: 0.9,
      lambda: 0.8,
    });
    const expectA = [4.80272, -1, 4.726, 7, 3.3, 1.5];
    const expectR = [5.30272, 1, 5.726, 10, 4.8, 5.5];
    expectA.forEach((a, k) => expect(advantages[k]).toBeCloseTo(a, 5));
    expectR.forEach((r, k) => expect(returns[k]).toBeCloseTo(r, 5));
  });
});

describe('PPO loss', () => {
  const input = () => ({
    newLogp: tf.tensor1d([Math.log(1.5), Math.log(0.5), Math.log(1.1)]),
    oldLogp: tf.tensor1d([0, 0, 0]),
    advantages: tf.tensor1d([1, -1, 2]),
    newValues: tf.tensor1d([1, 2, 3]),
    oldValues: tf.tensor1d([1.5, 2, 2]),
    returns: tf.tensor1d([0, 2.5, 3.5]),
    entropy: tf.tensor1d([0.6, 0.6, 0.6]),
  });
  const read = (t: tf.Tensor) => t.dataSync()[0];

  it('clips the surrogate and the value on a hand case', () => {
    tf.tidy(() => {
      // ratios 1.5, 0.5, 1.1; ε = 0.2 → min(r·A, clip(r)·A) = 1.2, −0.8, 2.2 → L_clip = −2.6/3.
      const l = ppoLoss(input(), { clipRange: 0.2, clipRangeVf: 0.2, normalizeAdvantage: false, entCoef: 0.01, vfCoef: 0.5 });
      expect(read(l.policyLoss)).toBeCloseTo(-0.8666666666666667, 5);
      // V clipped to old ± 0.2 = 1.3, 2, 2.2; max of squared errors 1.69, 0.25, 1.69 → 1.21.
      expect(read(l.valueLoss)).toBeCloseTo(1.21, 5);
      expect(read(l.entropy)).toBeCloseTo(0.6, 6);
      expect(read(l.clipFraction)).toBeCloseTo(2 / 3, 6);
      // mean((r − 1) − log r)
      expect(read(l.approxKl)).toBeCloseTo(0.09745729754915201, 5);
      expect(read(l.loss)).toBeCloseTo(-0.8666666666666667 - 0.006 + 0.605, 5);
      // Without value clipping: mean squared error 1.5 / 3.
      const u = ppoLoss(input(), { clipRange: 0.2, clipRangeVf: null, normalizeAdvantage: false, entCoef: 0, vfCoef: 0.5 });
      expect(read(u.valueLoss)).toBeCloseTo(0.5, 6);
      // Advantages normalised with the sample std: (A − 2/3)/1.5275 → L_clip = −0.11638.
      const n = ppoLoss(input(), { clipRange: 0.2, clipRangeVf: null, normalizeAdvantage: true, entCoef: 0, vfCoef: 0.5 });
      expect(read(n.policyLoss)).toBeCloseTo(-0.1163828740306246, 5);
    });
  });
});

const small = { numEnvs: 2, numSteps: 64, batchSize: 64, nEpochs: 2, hidden: [16, 16], totalSteps: 4096, lrSchedule: 'linear', clipSchedule: 'linear' };

async function make(scene: string, extra: Record<string, unknown> = {}, seed = 3): Promise<PpoLearner> {
  return createPpo({ makeEnv: (s) => createEnv(scene, { seed: s }), seed, config: { ...small, ...extra } });
}

function allWeights(l: PpoLearner): number[] {
  return [...l.actor.getWeights(), ...l.critic.getWeights()].flatMap((w) => Array.from(w)).concat(l.logStd ? Array.from(l.logStd.dataSync()) : []);
}

describe('PPO loss without an entropy bonus', () => {
  it('leaves the term out with the same loss and gradients, to the bit, as multiplying it by 0', () => {
    const rng = new Rng(7);
    const logits = tf.variable(tf.tensor2d(Float32Array.from({ length: 32 * 3 }, () => rng.normal()), [32, 3]), true, 'ppo-test-logits');
    const values = tf.variable(tf.tensor1d(Float32Array.from({ length: 32 }, () => rng.normal())), true, 'ppo-test-values');
    const nets = new PpoNets(4, new Discrete(3), PpoConfigSchema.parse({ hidden: [4] }), new Rng(1));
    const actions = nets.actionsTensor(Float32Array.from({ length: 32 }, () => Math.floor(rng.next() * 3)));
    const consts = ['oldLogp', 'advantages', 'oldValues', 'returns'].map(() => tf.tensor1d(Float32Array.from({ length: 32 }, () => rng.normal())));
    const run = (explicitZero: boolean) => {
      const { value, grads } = tf.variableGrads(() => {
        const { logProb, entropy } = nets.logProbAndEntropy(logits, actions, explicitZero);
        const input = { newLogp: logProb, oldLogp: consts[0], advantages: consts[1], newValues: values, oldValues: consts[2], returns: consts[3], entropy };
        const o = { clipRange: 0.2, clipRangeVf: null, normalizeAdvantage: true, entCoef: 0, vfCoef: 0.5 };
        if (!explicitZero) return ppoLoss(input, o).loss;
        // What the loss was before: the entropy term multiplied by entCoef = 0, and differentiated.
        const l = ppoLoss(input, { ...o, entCoef: 1 });
        return tf.add(tf.sub(l.policyLoss, tf.mul(l.entropy, 0)), tf.mul(l.valueLoss, 0.5)) as tf.Scalar;
      }, [logits, values]);
      const out = [Array.from(value.dataSync()), Array.from(grads[logits.name].dataSync()), Array.from(grads[values.name].dataSync())];
      tf.dispose([value, grads[logits.name], grads[values.name]]);
      return out;
    };
    const left = run(false);
    expect(left[1].some((g) => g !== 0)).toBe(true);
    expect(left).toEqual(run(true));
    tf.dispose([logits, values, actions, ...consts]);
    nets.dispose();
  });
});

describe('PPO log-prob', () => {
  // π_old(a|s) is computed once, in tensors, by the function the loss uses for π_new. Against the
  // float64 formulas the rollout used before (logit − logsumexp; Gaussian density), within 1e-6
  // (measured: 1.2e-7 discrete, 8.9e-7 absolute on Box log-densities down to −10).
  for (const space of [new Discrete(3), new Box(new Float32Array([-1, -1]), new Float32Array([1, 1]))]) {
    it(`agrees with the float64 formula within 1e-6 (${space.kind})`, () => {
      const cfg = PpoConfigSchema.parse({ hidden: [16, 16], logStdInit: -0.3 });
      const nets = new PpoNets(4, space, cfg, new Rng(1));
      const rng = new Rng(2);
      const B = 64;
      const x = Float32Array.from({ length: B * 4 }, () => 3 * rng.normal());
      const { out } = nets.forward(x, true);
      const K = nets.actionSize;
      const actions = nets.discrete ? Float32Array.from({ length: B }, () => Math.floor(rng.next() * K)) : Float32Array.from({ length: B * K }, (_, k) => out![k] + 0.74 * rng.normal());
      const logStd = nets.logStd ? Array.from(nets.logStd.dataSync()) : [];
      const reference = Array.from({ length: B }, (_, i) => {
        const o = Array.from(out!.subarray(i * K, (i + 1) * K));
        if (nets.discrete) {
          const max = Math.max(...o);
          return o[actions[i]] - max - Math.log(o.reduce((z, v) => z + Math.exp(v - max), 0));
        }
        return o.reduce((lp, m, j) => {
          const z = (actions[i * K + j] - m) / Math.exp(logStd[j]);
          return lp - 0.5 * z * z - logStd[j] - 0.5 * Math.log(2 * Math.PI);
        }, 0);
      });
      const xt = tf.tensor2d(x, [B, 4]);
      const at = nets.actionsTensor(actions);
      const lp = nets.logProb(xt, at);
      const got = Array.from(lp.dataSync());
      // Relative to max(1, |log π|): float32 carries ~7 digits, and Box log-densities reach −10 here.
      const maxDiff = Math.max(...got.map((g, i) => Math.abs(g - reference[i]) / Math.max(1, Math.abs(reference[i]))));
      expect(maxDiff).toBeLessThan(1e-6);
      expect(Math.max(...reference.map(Math.abs))).toBeGreaterThan(0.1); // not trivially zero
      tf.dispose([xt, at, lp]);
      nets.dispose();
    });
  }
});

describe('PPO learner', () => {
  it('rejects bad hyper-parameters with the field named', () => {
    expect(() => parsePpoConfig({ gamma: 2 })).toThrow(/gamma/);
    expect(parsePpoConfig({ steps: 5000, evalEvery: 100, $comment: 'driver keys are skipped' }).totalSteps).toBe(5000);
    expect(() => parsePpoConfig({ nSteps: 64 })).toThrow(/unknown key "nSteps"/); // a typo is an error, not ignored
  });

  for (const [scene, extra] of [
    ['cartpole', {}],
    ['pendulum', { normalizeObs: true, clipRangeVf: 0.5 }],
  ] as const) {
    it(`resumes bit-exactly from a checkpoint (${scene})`, async () => {
      const a = await make(scene, extra);
      await a.learn(256, quiet);
      const dir = path.join(tmp, `ckpt-${scene}`);
      await a.saveCheckpoint(dir);
      await a.learn(512, quiet);
      const b = await make(scene, extra, 99); // different seed: everything must come from the checkpoint
      await b.loadCheckpoint(dir);
      expect(b.envsRestored).toBe(true);
      expect(b.envSteps).toBe(256);
      await b.learn(512, quiet);
      expect(b.envSteps).toBe(a.envSteps);
      expect(allWeights(b)).toEqual(allWeights(a));
      expect(b.normalizer?.toJSON()).toEqual(a.normalizer?.toJSON());
      a.dispose();
      b.dispose();
    });
  }

  it('resumes bit-exactly on a Rapier task too (episodes restart at learn() boundaries)', async () => {
    const extra = { normalizeObs: true, numSteps: 32, batchSize: 32 };
    const a = await make('uav-small', extra);
    expect(a.envsSnapshotable).toBe(false);
    await a.learn(64, quiet);
    const dir = path.join(tmp, 'ckpt-uav');
    await a.saveCheckpoint(dir);
    await a.learn(192, quiet);
    const b = await make('uav-small', extra, 3);
    await b.loadCheckpoint(dir);
    expect(b.envsRestored).toBe(false);
    await b.learn(192, quiet);
    expect(allWeights(b)).toEqual(allWeights(a));
    expect(b.normalizer?.toJSON()).toEqual(a.normalizer?.toJSON());
    a.dispose();
    b.dispose();
  });

  it('exports a policy that acts exactly as evalController', async () => {
    const l = await make('pendulum', { normalizeObs: true });
    await l.learn(256, quiet);
    const dir = path.join(tmp, 'policy');
    await l.exportPolicy(dir, { runId: 'test', scene: 'pendulum', taskId: 'Pendulum-v1' });
    const env = await createEnv('pendulum', { seed: 5 });
    const { controller, manifest } = await loadPolicy(dir, { spec: env.spec });
    expect(manifest.runtime === 'mlp' && manifest.mlp.head).toBe('gaussian-mean');
    expect(manifest.observationNormalization?.kind === 'running' && manifest.observationNormalization.count).toBeGreaterThan(0);
    const live = l.evalController();
    let { obs } = env.reset();
    for (let i = 0; i < 50; i++) {
      const a = live.act(obs) as Float32Array;
      expect(Array.from(controller.act(obs) as Float32Array)).toEqual(Array.from(a));
      obs = env.step(a).obs;
    }
    // Training after export must not move the frozen evaluation controller's normaliser.
    const before = Array.from(live.act(obs) as Float32Array);
    await l.learn(512, quiet);
    expect(Array.from(live.act(obs) as Float32Array)).toEqual(before);
    l.dispose();
  });

  it('leaks no tensors over 100+ gradient steps', async () => {
    const l = await make('cartpole');
    await l.learn(128, quiet); // warm-up: 2 gradient steps
    const before = tf.memory().numTensors;
    const u0 = l.updates;
    await l.learn(128 * 51, quiet);
    expect(l.updates - u0).toBeGreaterThanOrEqual(100);
    expect(tf.memory().numTensors).toBe(before);
    l.dispose();
  });
});
