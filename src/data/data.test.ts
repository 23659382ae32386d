import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../core/rng.js';
import { collect } from '../experiment/collect.js';
import type { DatasetMeta, Episode, OfflineDataset } from './dataset.js';
import { returnToGo } from './dataset.js';
import { loadH5, readDataset, writeDataset } from './minari.js';
import { assignSources, parseMix } from './mix.js';
import { episodeSignals, severity, triageDataset, uavAdapter } from './signals.js';
import { advantages, episodeProbabilities, minMax, topEpisodes, TransitionSampler } from './weighting.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'embody-data-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function fakeEpisode(id: number, T: number, obsDim: number, actDim: number, rng: Rng, ret = 0): Episode {
  const rewards = Float64Array.from({ length: T }, () => ret / T);
  const term = new Uint8Array(T);
  term[T - 1] = 1;
  return {
    id,
    seed: 100 + id,
    source: id % 2 ? 'a' : 'b',
    observations: Float32Array.from({ length: (T + 1) * obsDim }, () => rng.normal()),
    actions: Float32Array.from({ length: T * actDim }, () => rng.uniform(-1, 1)),
    rewards,
    terminations: term,
    truncations: new Uint8Array(T),
    endReason: 'all-collected',
    metrics: { fractionCollected: 0.5 + id / 100 },
  };
}

const meta = (obsDim: number, actDim: number): DatasetMeta => ({
  datasetId: 'test/fake-v0',
  taskId: 'uav-data-collection',
  scene: 'fake',
  obsDim,
  actDim,
  observationSpace: { kind: 'box', shape: [obsDim], low: Array(obsDim).fill(-1e308), high: Array(obsDim).fill(1e308) },
  actionSpace: { kind: 'box', shape: [actDim], low: Array(actDim).fill(-1), high: Array(actDim).fill(1) },
  controlPeriod: 0.2,
  maxEpisodeSteps: 50,
});

describe('Minari HDF5 layout', () => {
  it('round-trips episodes exactly and matches the documented layout', async () => {
    const rng = new Rng(1);
    const ds: OfflineDataset = { meta: meta(5, 3), episodes: [fakeEpisode(0, 7, 5, 3, rng), fakeEpisode(1, 12, 5, 3, rng)] };
    const dir = path.join(tmp, 'rt');
    await writeDataset(dir, ds);
    const back = await readDataset(dir);
    expect(back.episodes.length).toBe(2);
    for (let i = 0; i < 2; i++) {
      const a = ds.episodes[i];
      const b = back.episodes[i];
      expect(Array.from(b.observations)).toEqual(Array.from(a.observations));
      expect(Array.from(b.actions!)).toEqual(Array.from(a.actions!));
      expect(Array.from(b.rewards)).toEqual(Array.from(a.rewards));
      expect(Array.from(b.terminations)).toEqual(Array.from(a.terminations));
      expect(b.seed).toBe(a.seed);
      expect(b.metrics.fractionCollected).toBeCloseTo(a.metrics.fractionCollected, 12);
    }
    // Minari's layout, checked with the HDF5 library itself: data/metadata.json + data/main_data.hdf5,
    // groups episode_<id> holding observations [T+1, obs], actions [T, act], rewards/terminations/truncations [T].
    const md = JSON.parse(readFileSync(path.join(dir, 'data', 'metadata.json'), 'utf8'));
    expect(md).toMatchObject({ total_episodes: 2, total_steps: 19, data_format: 'hdf5', dataset_id: 'test/fake-v0' });
    expect(JSON.parse(md.action_space.replace(/-?Infinity/g, '0'))).toMatchObject({ type: 'Box', shape: [3], low: [-1, -1, -1] });
    expect(md.observation_space).toContain('-Infinity');
    const h5 = await loadH5();
    const f = new h5.File(path.join(dir, 'data', 'main_data.hdf5'), 'r');
    try {
      expect(f.keys().sort()).toEqual(['episode_0', 'episode_1']);
      expect(Number(f.attrs.total_episodes.value)).toBe(2);
      const g = f.get('episode_1') as import('h5wasm/node').Group;
      expect(g.keys().sort()).toEqual(['actions', 'infos', 'observations', 'rewards', 'terminations', 'truncations']);
      expect((g.get('observations') as import('h5wasm/node').Dataset).shape).toEqual([13, 5]);
      expect((g.get('observations') as import('h5wasm/node').Dataset).dtype).toBe('<f');
      expect((g.get('actions') as import('h5wasm/node').Dataset).shape).toEqual([12, 3]);
      expect((g.get('rewards') as import('h5wasm/node').Dataset).dtype).toBe('<d');
      expect((g.get('terminations') as import('h5wasm/node').Dataset).shape).toEqual([12]);
      expect(Number(g.attrs.id.value)).toBe(1);
      expect(Number(g.attrs.total_steps.value)).toBe(12);
      expect(Number(g.attrs.seed.value)).toBe(101);
    } finally {
      f.close();
    }
  });
});

describe('returns-to-go', () => {
  it('is the undiscounted suffix sum', () => {
    expect(Array.from(returnToGo([1, 2, 3, -1]))).toEqual([5, 4, 2, -1]);
  });
});

describe('trajectory weighting (Hong et al. 2023)', () => {
  it('draws transitions with frequency ∝ T_i·exp(Ĝ_i/α)', () => {
    const rng = new Rng(3);
    const lens = [10, 20, 5, 40];
    const rets = [0, 1, 0.5, 0.9];
    const ds: OfflineDataset = { meta: meta(2, 1), episodes: lens.map((T, i) => fakeEpisode(i, T, 2, 1, rng, rets[i])) };
    const p = episodeProbabilities(ds, 'return', 0.1);
    const g = minMax(rets);
    const w = lens.map((T, i) => T * Math.exp(g[i] / 0.1));
    const z = w.reduce((a, b) => a + b, 0);
    w.forEach((wi, i) => expect(p[i]).toBeCloseTo(wi / z, 12));
    const sampler = new TransitionSampler(p, lens, new Rng(9));
    const N = 200_000;
    const counts = new Array(4).fill(0);
    for (let k = 0; k < N; k++) counts[sampler.transition()[0]]++;
    // 4σ binomial tolerance on each frequency.
    counts.forEach((c, i) => expect(Math.abs(c / N - p[i])).toBeLessThan(4 * Math.sqrt((p[i] * (1 - p[i])) / N) + 1e-4));
  });

  it('advantage weighting removes what the initial state explains', () => {
    const rng = new Rng(4);
    // G = 3·s0[0] exactly: every advantage is ~0.
    const eps = Array.from({ length: 30 }, (_, i) => fakeEpisode(i, 5, 2, 1, rng));
    for (const e of eps) e.rewards.fill((3 * e.observations[0]) / 5);
    const adv = advantages(eps, 2);
    for (const a of adv) expect(Math.abs(a)).toBeLessThan(1e-2);
  });

  it('top 10% keeps the best episodes', () => {
    const rng = new Rng(5);
    const ds: OfflineDataset = { meta: meta(2, 1), episodes: Array.from({ length: 20 }, (_, i) => fakeEpisode(i, 4, 2, 1, rng, i)) };
    expect(topEpisodes(ds, 0.1).episodes.map((e) => e.id).sort()).toEqual([18, 19]);
  });
});

describe('mixed sources', () => {
  it('parses --mix and interleaves sources in exact proportions', () => {
    const s = parseMix('tour:0.2,greedy+noise:0.3,random+noise0.5:0.5', 0.3);
    expect(s.map((x) => [x.controller, x.noise])).toEqual([['tour', 0], ['greedy', 0.3], ['random', 0.5]]);
    const a = assignSources(s, 20);
    expect([0, 1, 2].map((i) => a.filter((x) => x === i).length)).toEqual([4, 6, 10]);
    expect(new Set(a.slice(0, 5)).size).toBe(3);
  });
});

describe('collect', () => {
  it('resumes an interrupted collection and gives the same dataset', async () => {
    const sources = parseMix('greedy:0.5,random:0.5');
    const a = path.join(tmp, 'a');
    const first = await collect({ scene: 'uav-small', sources, episodes: 4, seed: 7, out: a, chunkSize: 2, maxChunks: 1 });
    expect(first.card).toBeNull();
    expect(existsSync(path.join(a, 'data', '.partial', 'chunk-00000.hdf5'))).toBe(true);
    const second = await collect({ scene: 'uav-small', sources, episodes: 4, seed: 7, out: a, chunkSize: 2 });
    expect(second.resumedChunks).toBe(1);
    expect(existsSync(path.join(a, 'data', '.partial'))).toBe(false);
    const card = JSON.parse(readFileSync(path.join(a, 'card.json'), 'utf8'));
    expect(card.episodes).toBe(4);
    expect(card.sources.map((s: { episodes: number }) => s.episodes)).toEqual([2, 2]);
    const b = path.join(tmp, 'b');
    await collect({ scene: 'uav-small', sources, episodes: 4, seed: 7, out: b, chunkSize: 4 });
    const [da, db] = [await readDataset(a), await readDataset(b)];
    expect(da.episodes.map((e) => e.rewards.length)).toEqual(db.episodes.map((e) => e.rewards.length));
    expect(Array.from(da.episodes[3].observations)).toEqual(Array.from(db.episodes[3].observations));
    expect(da.episodes[0].source).toBe('greedy');
  });
});

describe('trajectory signals', () => {
  it('severity follows the paper: 0, 1–2, 3–4, 5+', () => {
    expect([0, 1, 2, 3, 4, 5, 9].map(severity)).toEqual([0, 1, 1, 2, 2, 3, 3]);
  });

  it('flags a looping, stagnating, crashing trajectory above a clean one', () => {
    const obsDim = 12; // 8 + 4·1 device
    const T = 120;
    const mk = (loop: boolean): Episode => {
      const obs = new Float32Array((T + 1) * obsDim);
      const act = new Float32Array(T * 3);
      for (let t = 0; t <= T; t++) {
        const o = obs.subarray(t * obsDim);
        // Loop: oscillate between two cells, never collecting; clean: fly straight and collect.
        o[0] = loop ? (t % 20 < 10 ? -0.5 : -0.2) : -0.9 + (1.8 * t) / T;
        o[1] = 0;
        o[11] = loop ? 1 : 1 - t / T;
        if (t < T) act[t * 3] = loop ? (t % 2 ? 1 : -1) : 1;
      }
      return { id: loop ? 1 : 0, seed: 0, source: 's', observations: obs, actions: act, rewards: new Float64Array(T), terminations: new Uint8Array(T), truncations: new Uint8Array(T), endReason: loop ? 'crash' : 'all-collected', metrics: {} };
    };
    const bad = episodeSignals(mk(true), obsDim, 3, uavAdapter);
    const good = episodeSignals(mk(false), obsDim, 3, uavAdapter);
    expect(bad.counts.loop).toBeGreaterThanOrEqual(5);
    expect(bad.counts.stagnation).toBe(2);
    expect(bad.counts.failure).toBe(1);
    expect(good.score).toBe(0);
    const ranked = triageDataset({ meta: { ...meta(obsDim, 3) }, episodes: [mk(false), mk(true)] });
    expect(ranked[0].episode).toBe(1);
  });
});

describe('inverse dynamics (SSORL)', () => {
  it('labels action-free steps far better than the mean-action baseline on held-out data', async () => {
    const { trainInverseDynamics, labelDataset } = await import('../../controllers/dt/inverse-dynamics.js');
    const rng = new Rng(12);
    const d = 3;
    const A = 2;
    const eps: Episode[] = Array.from({ length: 20 }, (_, id) => {
      const T = 30;
      const obs = new Float32Array((T + 1) * d);
      const act = new Float32Array(T * A);
      for (let j = 0; j < d; j++) obs[j] = rng.normal();
      for (let t = 0; t < T; t++) {
        for (let k = 0; k < A; k++) act[t * A + k] = rng.uniform(-1, 1);
        obs[(t + 1) * d] = obs[t * d] + 0.5 * act[t * A];
        obs[(t + 1) * d + 1] = obs[t * d + 1] + 0.5 * act[t * A + 1];
        obs[(t + 1) * d + 2] = 0.9 * obs[t * d + 2];
      }
      return { id, seed: id, source: 's', observations: obs, actions: act, rewards: new Float64Array(T), terminations: new Uint8Array(T), truncations: new Uint8Array(T), endReason: 'x', metrics: {} };
    });
    const ds: OfflineDataset = { meta: meta(d, A), episodes: eps };
    const idm = await trainInverseDynamics(ds, { seed: 1, updates: 400, hidden: 64, batch: 128 });
    expect(idm.heldOutMse).toBeLessThan(0.25 * idm.baselineMse);
    const free: OfflineDataset = { meta: ds.meta, episodes: [{ ...eps[0], actions: null }] };
    const labelled = labelDataset(free, idm);
    expect(labelled.episodes[0].actions!.length).toBe(eps[0].actions!.length);
    idm.dispose();
  });
});
