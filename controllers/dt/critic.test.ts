import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import type { Episode, OfflineDataset } from '../../src/data/dataset.js';
import { initBackend } from '../backend.js';
import { pretrainCritic } from './critic.js';
import { trainDt } from './train.js';

beforeAll(async () => {
  await initBackend();
});

const S = 4;
const A = 2;
const T = 20;

/**
 * Deterministic dynamics, policy and reward from a random start, so that the n-step TD target is a
 * function of (s, a) and a critic can fit it (the TD loss then has no noise floor to hide behind).
 */
function dataset(): OfflineDataset {
  const rng = new Rng(3);
  const episodes: Episode[] = Array.from({ length: 8 }, (_, e) => {
    const obs = new Float32Array((T + 1) * S);
    for (let d = 0; d < S; d++) obs[d] = rng.normal();
    const act = new Float32Array(T * A);
    const rew = new Float64Array(T);
    for (let t = 0; t < T; t++) {
      for (let d = 0; d < S; d++) obs[(t + 1) * S + d] = Math.cos(1.3 * obs[t * S + ((d + 1) % S)]) + 0.1 * d;
      for (let d = 0; d < A; d++) act[t * A + d] = Math.tanh(obs[t * S + d]);
      rew[t] = 1 + obs[t * S] + act[t * A];
    }
    return { id: e, seed: e, source: 's', observations: obs, actions: act, rewards: rew, terminations: Uint8Array.from({ length: T }, (_, i) => (i === T - 1 ? 1 : 0)), truncations: new Uint8Array(T), endReason: 'terminated', metrics: {} };
  });
  return { meta: { datasetId: 'x', taskId: 't', scene: 's', obsDim: S, actDim: A, observationSpace: null, actionSpace: null, controlPeriod: 1, maxEpisodeSteps: T }, episodes };
}

const cfg = { K: 5, embed: 16, layers: 1, heads: 1, dropout: 0, batch: 16, warmupSteps: 1, lr: 3e-3, maxTimestep: 32, criticHidden: 32, nStep: 2, criticLr: 1e-3 };

describe('CRDT critic', () => {
  it('pretraining lowers the TD loss on the dataset', () => {
    const pc = pretrainCritic(dataset(), { ...cfg, criticPretrain: 400 }, 0, 50);
    expect(pc.curve).toHaveLength(8);
    expect(pc.curve.every((p) => p.phase === 'pretrain' && Number.isFinite(p.tdLoss))).toBe(true);
    const last = pc.curve[pc.curve.length - 1];
    expect(last.tdLoss).toBeLessThan(0.3 * pc.curve[0].tdLoss);
    // It explains most of the targets' spread, not only their mean.
    expect(last.tdLoss).toBeLessThan(0.5 * last.targetVar);
  });

  it('trainDt pretrains the critic itself or takes a pretrained one, with the same result', async () => {
    const ds = dataset();
    const over = { ...cfg, updates: 20, eta: 0.1, criticPretrain: 60 };
    const own = await trainDt(ds, over, { seed: 4, logEvery: 10 });
    const given = await trainDt(ds, over, { seed: 4, logEvery: 10, critic: pretrainCritic(ds, over, 4, 10) });
    expect(Array.from(given.weights['h0.q_W'])).toEqual(Array.from(own.weights['h0.q_W']));
    const c = own.stats.critic!;
    expect(c.updates).toBe(80);
    // 6 pretraining points, then 2 joint ones (after updates 10 and 20).
    expect(c.curve.map((p) => p.phase)).toEqual([...Array(6).fill('pretrain'), 'joint', 'joint']);
    expect(c.curve[6].update).toBe(69);
    expect(c.actor).toHaveLength(2);
    // η = 0 is the plain DT: no critic.
    const dt = await trainDt(ds, { ...over, eta: 0 }, { seed: 4 });
    expect(dt.stats.critic).toBeUndefined();
  });
});
