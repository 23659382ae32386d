import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContractError } from '../../src/core/errors.js';
import { createEnv } from '../../sim/registry.js';
import { initBackend } from '../backend.js';
import type { LearnHooks } from '../learner.js';
import { loadPolicy } from '../policy/index.js';
import { createDqn, type DqnLearner, linearEpsilon, parseDqnConfig } from './dqn.js';
import { dqnTargets, huberLoss } from './q-network.js';

const quiet: LearnHooks = { log() {}, episode() {} };
let tmp: string;
beforeAll(async () => {
  await initBackend('wasm');
  tmp = mkdtempSync(path.join(tmpdir(), 'embody-dqn-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('DQN pieces', () => {
  it('double-Q targets: the online net picks a′, the target net values it; terminal rows do not bootstrap', () => {
    tf.tidy(() => {
      const r = tf.tensor1d([1, 0.5]);
      const d = tf.tensor1d([0, 1]);
      const qT = tf.tensor2d([[1, 2], [3, 4]]);
      const qO = tf.tensor2d([[5, 0], [0, 1]]);
      // Double: a* = argmax Q_online = [0, 1] → Q_target = [1, 4] → y = [1 + 0.9·1, 0.5] .
      expect(Array.from(dqnTargets(r, d, qT, qO, 0.9).dataSync())).toEqual([Math.fround(1.9), 0.5]);
      // Plain DQN: a* = argmax Q_target = [1, 1] → [2, 4] → y = [1 + 0.9·2, 0.5].
      expect(Array.from(dqnTargets(r, d, qT, null, 0.9).dataSync())).toEqual([Math.fround(2.8), 0.5]);
    });
  });

  it('Huber loss is quadratic inside δ and linear outside', () => {
    tf.tidy(() => {
      // errors 0.5, 2, −3 → 0.125, 1.5, 2.5 → mean 1.375
      expect(huberLoss(tf.tensor1d([0, 0, 0]), tf.tensor1d([0.5, 2, -3])).dataSync()[0]).toBeCloseTo(1.375, 6);
      // δ = 2: 0.125, 2, 2·(3 − 1) = 4 → mean 2.041666
      expect(huberLoss(tf.tensor1d([0, 0, 0]), tf.tensor1d([0.5, 2, -3]), 2).dataSync()[0]).toBeCloseTo(6.125 / 3, 6);
    });
  });

  it('ε decays linearly over explorationFraction, then stays at the final value', () => {
    const c = { totalSteps: 1000, explorationFraction: 0.1, explorationInitialEps: 1, explorationFinalEps: 0.05 };
    expect(linearEpsilon(0, c)).toBe(1);
    expect(linearEpsilon(50, c)).toBeCloseTo(0.525, 12);
    expect(linearEpsilon(100, c)).toBeCloseTo(0.05, 12);
    expect(linearEpsilon(900, c)).toBe(0.05);
  });

  it('checks its config and refuses Box actions', async () => {
    expect(() => parseDqnConfig({ gradientSteps: 0 })).toThrow(/gradientSteps/);
    expect(() => parseDqnConfig({ trainFrequency: 4 })).toThrow(/unknown key "trainFrequency"/);
    await expect(createDqn({ makeEnv: (s) => createEnv('pendulum', { seed: s }), seed: 0, config: {} })).rejects.toThrow(ContractError);
  });
});

const small = {
  totalSteps: 2000,
  learningStarts: 100,
  trainFreq: 16,
  gradientSteps: 4,
  batchSize: 16,
  bufferSize: 300, // smaller than the run, so the ring wraps before the checkpoint
  targetUpdateInterval: 10,
  hidden: [16, 16],
  explorationFraction: 0.2,
};

async function make(extra: Record<string, unknown> = {}, seed = 4): Promise<DqnLearner> {
  return createDqn({ makeEnv: (s) => createEnv('cartpole', { seed: s }), seed, config: { ...small, ...extra } });
}
const weights = (l: DqnLearner) => [...l.qnet.online.getWeights(), ...l.qnet.target.getWeights()].flatMap((w) => Array.from(w));

describe('DQN learner', () => {
  for (const extra of [{}, { normalizeObs: true, tau: 0.5, numEnvs: 2 }]) {
    it(`resumes bit-exactly from a checkpoint ${JSON.stringify(extra)}`, async () => {
      const a = await make(extra);
      await a.learn(400, quiet);
      expect(a.buffer.size).toBe(300);
      const dir = path.join(tmp, `ckpt-${Object.keys(extra).length}`);
      await a.saveCheckpoint(dir);
      await a.learn(700, quiet);
      const b = await make(extra, 77);
      await b.loadCheckpoint(dir);
      expect(b.envsRestored).toBe(true);
      await b.learn(700, quiet);
      expect(b.envSteps).toBe(a.envSteps);
      expect(b.updates).toBe(a.updates);
      expect(weights(b)).toEqual(weights(a));
      expect(Array.from(b.buffer.obs)).toEqual(Array.from(a.buffer.obs));
      a.dispose();
      b.dispose();
    });
  }

  it('exports a q-argmax policy that acts exactly as evalController', async () => {
    const l = await make();
    await l.learn(300, quiet);
    const dir = path.join(tmp, 'policy');
    await l.exportPolicy(dir, { runId: 't', scene: 'cartpole', taskId: 'CartPole-v1' });
    const env = await createEnv('cartpole', { seed: 1 });
    const { controller, manifest } = await loadPolicy(dir, { spec: env.spec });
    expect(manifest.runtime === 'mlp' && manifest.mlp.head).toBe('q-argmax');
    const live = l.evalController();
    let { obs } = env.reset();
    for (let i = 0; i < 40; i++) {
      const a = live.act(obs) as number;
      expect(controller.act(obs)).toBe(a);
      const r = env.step(a);
      obs = r.terminated || r.truncated ? env.reset().obs : r.obs;
    }
    l.dispose();
  });

  it('leaks no tensors over 100+ gradient steps', async () => {
    const l = await make();
    await l.learn(200, quiet);
    const before = tf.memory().numTensors;
    const u0 = l.updates;
    await l.learn(200 + 16 * 26, quiet);
    expect(l.updates - u0).toBeGreaterThanOrEqual(100);
    expect(tf.memory().numTensors).toBe(before);
    l.dispose();
  });
});
