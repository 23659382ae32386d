import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src/core/rng.js';
import { initBackend } from '../backend.js';
import { CheckpointStore } from '../checkpoint/store.js';
import { loadPolicy } from '../policy/index.js';
import { parseSacConfig, SacLearner } from './sac.js';
import { SacNetworks } from './networks.js';
import { writableView } from '../nn/index.js';
import { createEnv } from '../../sim/registry.js';
import { train } from '../../src/experiment/train.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'embody-sac-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
beforeAll(async () => {
  await initBackend('wasm');
});

/** Small and quick: the algorithm is the same at any width. */
const SMALL = { hidden: [16, 16], batchSize: 16, learningStarts: 100, bufferSize: 250, logEvery: 100 };

describe('SAC and STAC', () => {
  for (const kind of ['sac', 'stac'] as const) {
    it(`${kind}: no tensor leaks over 100 updates`, async () => {
      const env = await createEnv('pendulum', { seed: 1 });
      const learner = new SacLearner(env, 1, parseSacConfig(SMALL, kind), kind);
      await learner.learn(150, { log() {}, episode() {} });
      learner.update();
      const before = tf.memory().numTensors;
      for (let i = 0; i < 100; i++) learner.update();
      expect(tf.memory().numTensors).toBe(before);
      learner.dispose();
    });
  }

  it('the target critics do not move with the critics (cpu keeps source arrays as storage)', async () => {
    await initBackend('cpu');
    try {
      for (const kind of ['sac', 'stac'] as const) {
        const nets = new SacNetworks(parseSacConfig({ hidden: [8, 8] }, kind), 3, 1, new Rng(1));
        const before = nets.target.getWeights();
        // Change the critic in place, as Adam does.
        for (const v of nets.critic.vars) (writableView(v) ?? new Float32Array(0)).fill(0.5);
        expect(nets.critic.getWeights()[0][0]).toBe(0.5);
        expect(nets.target.getWeights().map((a) => Array.from(a))).toEqual(before.map((a) => Array.from(a)));
        nets.dispose();
      }
    } finally {
      await initBackend('wasm');
    }
  });

  it('STAC config defaults: distributional critic, dropout 0.01, LayerNorm, β 0.25', () => {
    const c = parseSacConfig({}, 'stac');
    expect([c.critic, c.dropout, c.layerNorm, c.beta]).toEqual(['distributional', 0.01, true, 0.25]);
    const s = parseSacConfig({}, 'sac');
    expect([s.critic, s.dropout, s.layerNorm]).toEqual(['twin', 0, false]);
    expect(() => parseSacConfig({ tau: 2 }, 'sac')).toThrow(/tau/);
  });

  // STAC's one critic, and SAC's twin critics (one grouped network saved as two: the member-major layout).
  for (const kind of ['stac', 'sac'] as const) {
    it(`${kind}: resume is bit-exact: 400 steps in one go equals 200 + resume to 400 (weights, optimiser, replay)`, async () => {
      const overrides = { ...SMALL, evalEvery: 200, evalEpisodes: 1 };
      const full = await train({ scene: 'pendulum', controller: kind, steps: 400, seed: 3, out: path.join(tmp, `${kind}-a`), overrides, quiet: true });
      const half = await train({ scene: 'pendulum', controller: kind, steps: 200, seed: 3, out: path.join(tmp, `${kind}-b`), overrides, quiet: true });
      const resumed = await train({ scene: 'pendulum', controller: kind, resume: half.runDir, steps: 400, quiet: true });
      expect(resumed.envSteps).toBe(400);
      const learnerDir = (run: string) => path.join(new CheckpointStore(path.join(run, 'checkpoints')).generations()[0].dir, 'learner');
      // arrays.bin holds the networks, Adam moments and the replay buffer.
      expect(readFileSync(path.join(learnerDir(full.runDir), 'arrays.bin')).equals(readFileSync(path.join(learnerDir(half.runDir), 'arrays.bin')))).toBe(true);
      const sa = JSON.parse(readFileSync(path.join(learnerDir(full.runDir), 'state.json'), 'utf8'));
      const sb = JSON.parse(readFileSync(path.join(learnerDir(half.runDir), 'state.json'), 'utf8'));
      expect(sb.rng).toEqual(sa.rng);
      expect(sb.logAlpha).toEqual(sa.logAlpha);
      expect(sb.updates).toBe(sa.updates);
      // The final policies act identically, and the eval figures match line for line.
      expect(readFileSync(path.join(full.runDir, 'policy', 'weights.bin')).equals(readFileSync(path.join(half.runDir, 'policy', 'weights.bin')))).toBe(true);
      const evals = (dir: string) =>
        readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l))
          .filter((m) => m.kind !== 'train')
          .map((m) => [m.step, m.kind, m.return]);
      expect(evals(half.runDir)).toEqual(evals(full.runDir));
    });
  }

  it('the saved policy acts exactly as the learner’s eval controller', async () => {
    const env = await createEnv('pendulum', { seed: 2 });
    const learner = new SacLearner(env, 2, parseSacConfig({ ...SMALL, normalizeObs: true }, 'sac'), 'sac');
    await learner.learn(200, { log() {}, episode() {} });
    const before = learner.evalController();
    const dir = path.join(tmp, 'policy');
    await learner.exportPolicy(dir, { runId: 'test', scene: 'pendulum', taskId: env.spec.id });
    const { controller, manifest } = await loadPolicy(dir, { spec: env.spec });
    expect(manifest.observationNormalization?.kind === 'running' && manifest.observationNormalization.count).toBe(200);
    const rng = new Rng(4);
    for (let i = 0; i < 20; i++) {
      const obs = Float32Array.from([rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(-8, 8)]);
      expect(Array.from(controller.act(obs) as Float32Array)).toEqual(Array.from(before.act(obs) as Float32Array));
    }
    // Frozen at evaluation: more training moves the learner's normaliser, not the exported controller.
    const probe = Float32Array.from([0.5, 0.5, 1]);
    const a0 = Array.from(before.act(probe) as Float32Array);
    await learner.learn(250, { log() {}, episode() {} });
    expect(Array.from(before.act(probe) as Float32Array)).toEqual(a0);
    learner.dispose();
  });
});
