import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AsyncVectorEnv } from '../../src/core/async-vector-env.js';
import { SyncVectorEnv } from '../../src/core/vector-env.js';
import { createEnv } from '../../sim/registry.js';
import { initBackend } from '../backend.js';
import { withWorkerEnvFactory, type LearnHooks } from '../learner.js';
import { createPpo, type PpoLearner } from './ppo.js';
import { createVectorEnv, restoreVec, snapshotVec } from './vec.js';
import { parsePpoConfig } from './config.js';

/**
 * vectorEnv "async" (AsyncVectorEnv, worker threads) against "sync" (SyncVectorEnv): with the same
 * seed, training must be bit-identical (weights, episode returns, logged losses), and checkpoints
 * taken from one resume bit-exactly in the other.
 */
let tmp: string;
beforeAll(async () => {
  await initBackend('wasm');
  tmp = mkdtempSync(path.join(tmpdir(), 'embody-ppo-async-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const small = { numEnvs: 3, numSteps: 64, batchSize: 64, nEpochs: 2, hidden: [16, 16], totalSteps: 4096, lrSchedule: 'linear', clipSchedule: 'linear' };
const registry = new URL('../../sim/registry.ts', import.meta.url);
const makeEnv = (scene: string) => withWorkerEnvFactory((s: number) => createEnv(scene, { seed: s }), { module: registry, exportName: 'createEnv', args: (s) => [scene, { seed: s }] });

function recorder() {
  const episodes: number[] = [];
  const logs: Record<string, number>[] = [];
  const hooks: LearnHooks = {
    log: (_step, f) => logs.push(Object.fromEntries(Object.entries(f).filter(([k]) => !k.endsWith('PerSec')))),
    episode: (_step, e) => episodes.push(e.return),
  };
  return { episodes, logs, hooks };
}

function allWeights(l: PpoLearner): number[] {
  return [...l.actor.getWeights(), ...l.critic.getWeights()].flatMap((w) => Array.from(w)).concat(l.logStd ? Array.from(l.logStd.dataSync()) : []);
}

async function make(scene: string, vectorEnv: 'sync' | 'async', extra: Record<string, unknown> = {}, seed = 4): Promise<PpoLearner> {
  return createPpo({ makeEnv: makeEnv(scene), seed, config: { ...small, vectorEnv, vecWorkers: 2, ...extra } });
}

describe('PPO with vectorEnv "async"', () => {
  for (const [scene, extra] of [
    ['cartpole', {}],
    ['pendulum', { normalizeObs: true }],
  ] as const) {
    it(`trains bit-identically to "sync" (${scene})`, async () => {
      const s = await make(scene, 'sync', extra);
      const a = await make(scene, 'async', extra);
      expect(s.vec).toBeInstanceOf(SyncVectorEnv);
      expect(a.vec).toBeInstanceOf(AsyncVectorEnv);
      expect((a.vec as AsyncVectorEnv).numWorkers).toBe(2);
      const rs = recorder();
      const ra = recorder();
      await s.learn(64 * 3 * 4, rs.hooks);
      await a.learn(64 * 3 * 4, ra.hooks);
      expect(rs.episodes.length).toBeGreaterThanOrEqual(3); // pendulum: one truncated 200-step episode per env
      expect(ra.episodes).toEqual(rs.episodes);
      expect(ra.logs).toEqual(rs.logs);
      expect(allWeights(a)).toEqual(allWeights(s));
      expect(a.normalizer?.toJSON()).toEqual(s.normalizer?.toJSON());
      s.dispose();
      a.dispose();
    });
  }

  it('checkpoints envs in worker threads mid-episode and resumes bit-exactly (also into "sync")', async () => {
    const a = await make('cartpole', 'async');
    expect(a.envsSnapshotable).toBe(true);
    await a.learn(192, recorder().hooks);
    const dir = path.join(tmp, 'ckpt');
    await a.saveCheckpoint(dir);
    await a.learn(576, recorder().hooks);
    for (const mode of ['async', 'sync'] as const) {
      const b = await make('cartpole', mode, {}, 99); // another seed: everything must come from the checkpoint
      await b.loadCheckpoint(dir);
      expect(b.envsRestored).toBe(true);
      await b.learn(576, recorder().hooks);
      expect(allWeights(b)).toEqual(allWeights(a));
      b.dispose();
    }
    a.dispose();
  });

  it('snapshots envs in worker threads as in this thread, and restores them mid-episode', async () => {
    const cfg = (vectorEnv: string) => parsePpoConfig({ numEnvs: 3, vectorEnv, vecWorkers: 2 });
    const sync = await createVectorEnv({ makeEnv: makeEnv('cartpole'), seed: 7, config: {} }, cfg('sync'));
    const async_ = await createVectorEnv({ makeEnv: makeEnv('cartpole'), seed: 7, config: {} }, cfg('async'));
    expect(snapshotVec(async_)).toEqual([null, null, null]); // not reset yet: nothing to resume
    sync.reset({ seed: 7 });
    async_.reset({ seed: 7 });
    const act = (t: number) => [t % 2, (t >> 1) % 2, 1];
    for (let t = 0; t < 30; t++) expect(async_.step(act(t)).obs).toEqual(sync.step(act(t)).obs);
    const snaps = snapshotVec(async_);
    expect(snaps).toEqual(snapshotVec(sync));
    const next = [0, 1, 2, 3, 4].map((t) => async_.step(act(t)).obs);
    expect(restoreVec(async_, snaps)).toBe(true);
    expect([0, 1, 2, 3, 4].map((t) => async_.step(act(t)).obs)).toEqual(next);
    sync.close();
    async_.close();
  });

  it('says why when the env factory cannot reach a worker thread', async () => {
    const closureOnly = (s: number) => createEnv('cartpole', { seed: s });
    await expect(createPpo({ makeEnv: closureOnly, seed: 0, config: { ...small, vectorEnv: 'async' } })).rejects.toThrow(/vectorEnv "async" needs an env factory/);
    await expect(createPpo({ makeEnv: closureOnly, seed: 0, config: { ...small, vectorEnv: 'threads' } })).rejects.toThrow(/vectorEnv/);
  });
});
