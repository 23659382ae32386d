import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src/core/rng.js';
import { Box, Discrete } from '../../src/core/spaces.js';
import { initWeights } from '../nn/mlp.js';
import { loadPolicy, mlpSpec, PolicyController, RunningNormalizer, savePolicy } from './index.js';

const target = (id: string, obs: Box, act: Box | Discrete) => ({ spec: { id, observationSpace: obs, actionSpace: act } });

const tmp = mkdtempSync(path.join(tmpdir(), 'embody-policy-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function randomObs(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal(2, 3));
}

describe('policy artifact', () => {
  it('round-trips exactly: same actions bit for bit, and tf.loadLayersModel reads model.json', async () => {
    const rng = new Rng(7);
    const spec = mlpSpec({ inputSize: 5, hidden: [32, 32], outputSize: 4, dropout: 0.01, layerNorm: true });
    const weights = initWeights(spec, rng);
    const norm = new RunningNormalizer(5);
    for (let i = 0; i < 100; i++) norm.update(randomObs(rng, 5));
    const obsSpace = new Box(-Infinity, Infinity, [5]);
    const actSpace = new Box([-2, -1], [2, 1]);
    const before = new PolicyController({ kind: 'sac', network: { spec, weights }, head: 'tanh-gaussian-mean', actionSize: 2, normalizer: norm, actionScaling: { low: [-2, -1], high: [2, 1] } });
    const dir = path.join(tmp, 'p1');
    const manifest = await savePolicy(dir, { kind: 'sac', taskId: 'Test-v0', observationSpace: obsSpace, actionSpace: actSpace, network: { spec, weights }, head: 'tanh-gaussian-mean', normalizer: norm, runId: 'r1' });
    expect(manifest.actionScaling).toEqual({ low: [-2, -1], high: [2, 1] });
    const { controller: loaded } = await loadPolicy(dir, target('Test-v0', obsSpace, actSpace));
    const controller = loaded as PolicyController;
    const probe = new Rng(99);
    for (let i = 0; i < 50; i++) {
      const obs = randomObs(probe, 5);
      const a = before.act(obs) as Float32Array;
      const b = controller.act(obs) as Float32Array;
      expect(Buffer.from(b.buffer).equals(Buffer.from(a.buffer))).toBe(true);
      expect(Math.abs(a[0])).toBeLessThanOrEqual(2);
    }
    // The normaliser is frozen: acting does not move it; updating the learner's live one does not move the controller's.
    const obs = randomObs(probe, 5);
    const a0 = controller.act(obs) as Float32Array;
    norm.update(randomObs(probe, 5).map((v) => v * 100));
    expect(Array.from(controller.act(obs) as Float32Array)).toEqual(Array.from(a0));
    expect(Array.from(before.act(obs) as Float32Array)).toEqual(Array.from(a0));

    // tfjs reads the same files and computes the same network (up to float32 accumulation).
    const modelJson = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8'));
    const bin = readFileSync(path.join(dir, 'weights.bin'));
    const model = await tf.loadLayersModel(
      tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs: modelJson.weightsManifest[0].weights, weightData: new Uint8Array(bin).buffer }),
    );
    const x = controller.forward(obs);
    const normed = RunningNormalizer.fromJSON(manifest.observationNormalization as import('./normalizer.js').NormalizerState).normalize(obs);
    const y = tf.tidy(() => (model.predict(tf.tensor2d(normed, [1, 5])) as tf.Tensor).dataSync());
    for (let i = 0; i < 4; i++) expect(y[i]).toBeCloseTo(x[i], 4);
    model.dispose();
  });

  it('discrete heads give argmax, and a tampered file is refused', async () => {
    const rng = new Rng(3);
    const spec = mlpSpec({ inputSize: 4, hidden: [8], outputSize: 3, activation: 'tanh' });
    const weights = initWeights(spec, rng, { kind: 'orthogonal', gains: [Math.SQRT2, 0.01] });
    const dir = path.join(tmp, 'p2');
    await savePolicy(dir, { kind: 'dqn', taskId: 'CartPole-v1', observationSpace: new Box(-5, 5, [4]), actionSpace: new Discrete(3), network: { spec, weights }, head: 'q-argmax' });
    const t = target('CartPole-v1', new Box(-5, 5, [4]), new Discrete(3));
    const controller = (await loadPolicy(dir, t)).controller as PolicyController;
    const obs = Float32Array.from([0.1, -0.2, 0.3, 0.4]);
    const q = controller.forward(obs);
    const act = controller.act(obs) as number;
    expect(q[act]).toBe(Math.max(...q));
    const bin = readFileSync(path.join(dir, 'weights.bin'));
    bin[10] ^= 1;
    writeFileSync(path.join(dir, 'weights.bin'), bin);
    await expect(loadPolicy(dir, t)).rejects.toThrow(/sha256 mismatch/);
  });

  it('Welford matches the two-pass mean and population variance', () => {
    const rng = new Rng(5);
    const xs = Array.from({ length: 500 }, () => randomObs(rng, 3));
    const n = new RunningNormalizer(3);
    xs.forEach((x) => n.update(x));
    for (let j = 0; j < 3; j++) {
      const m = xs.reduce((s, x) => s + x[j], 0) / xs.length;
      const v = xs.reduce((s, x) => s + (x[j] - m) ** 2, 0) / xs.length;
      expect(n.mean[j]).toBeCloseTo(m, 10);
      expect(n.var[j]).toBeCloseTo(v, 8);
    }
    const f = n.frozenCopy();
    f.update([1e6, 1e6, 1e6]);
    expect(f.count).toBe(500);
  });
});
