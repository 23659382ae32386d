import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import type { Episode, OfflineDataset } from '../../src/data/dataset.js';
import { initBackend } from '../backend.js';
import { dtConfig } from './config.js';
import { SegmentSampler } from './data.js';
import { DtController, DtRuntime } from './infer.js';
import { DtNet } from './model.js';
import { trainDt } from './train.js';
import { dtParamSpecs, initDtWeights, mergeLora } from './weights.js';

beforeAll(async () => {
  await initBackend();
});

const S = 5;
const A = 2;
const small = dtConfig({ K: 6, embed: 16, layers: 2, heads: 2, dropout: 0 });

/** Larger-than-GPT-2 init so that every token visibly moves the outputs. */
function weights(seed: number, c = small) {
  const w = initDtWeights(dtParamSpecs(c, S, A), new Rng(seed));
  for (const [k, v] of Object.entries(w)) if (k.endsWith('_W') || k === 'ts_emb') for (let i = 0; i < v.length; i++) v[i] *= 15;
  return w;
}

function randomBatch(rng: Rng, K: number, pad = 0) {
  const states = Float32Array.from({ length: K * S }, () => rng.normal());
  const actions = Float32Array.from({ length: K * A }, () => rng.uniform(-1, 1));
  const rtg = Float32Array.from({ length: K }, () => rng.uniform(0, 1));
  const timesteps = Int32Array.from({ length: K }, (_, i) => 10 + i);
  const mask = Float32Array.from({ length: K }, (_, i) => (i < pad ? 0 : 1));
  for (let i = 0; i < pad; i++) {
    states.fill(0, i * S, (i + 1) * S);
    actions.fill(-10, i * A, (i + 1) * A);
    rtg[i] = 0;
  }
  return { states, actions, rtg, timesteps, mask };
}

function forward(net: DtNet, b: ReturnType<typeof randomBatch>, K: number): Float32Array {
  return tf.tidy(() =>
    net
      .forward({
        states: tf.tensor3d(b.states, [1, K, S]),
        actions: tf.tensor3d(b.actions, [1, K, A]),
        rtg: tf.tensor3d(b.rtg, [1, K, 1]),
        timesteps: tf.tensor2d(b.timesteps, [1, K], 'int32'),
        mask: tf.tensor2d(b.mask, [1, K]),
      })
      .dataSync() as Float32Array,
  ).slice();
}

describe('decision transformer', () => {
  it('causal mask: the action at t never sees a_t or anything later', () => {
    const K = small.K;
    const net = new DtNet(small, S, A, weights(1));
    const rng = new Rng(2);
    const base = randomBatch(rng, K);
    const y0 = forward(net, base, K);
    for (const t of [0, 2, 4]) {
      const p = { ...base, states: base.states.slice(), actions: base.actions.slice(), rtg: base.rtg.slice() };
      for (let j = t; j < K; j++) for (let d = 0; d < A; d++) p.actions[j * A + d] = rng.uniform(-1, 1);
      for (let j = t + 1; j < K; j++) {
        p.rtg[j] = rng.uniform(-3, 3);
        for (let d = 0; d < S; d++) p.states[j * S + d] = rng.normal();
      }
      const y1 = forward(net, p, K);
      for (let j = 0; j <= t; j++) for (let d = 0; d < A; d++) expect(y1[j * A + d]).toBe(y0[j * A + d]);
      // …and the future did change later predictions, so the check above could fail.
      let moved = 0;
      for (let j = t + 1; j < K; j++) for (let d = 0; d < A; d++) moved = Math.max(moved, Math.abs(y1[j * A + d] - y0[j * A + d]));
      expect(moved).toBeGreaterThan(1e-3);
    }
    // Left padding is invisible: changing padded tokens changes nothing.
    const padded = randomBatch(new Rng(3), K, 2);
    const ya = forward(net, padded, K);
    const pb = { ...padded, states: padded.states.slice() };
    pb.states.fill(7, 0, 2 * S);
    const yb = forward(net, pb, K);
    for (let i = 2 * A; i < K * A; i++) expect(yb[i]).toBeCloseTo(ya[i], 5);
    net.dispose();
  });

  it('pure-JS inference equals the tfjs training graph, and cached equals uncached', () => {
    const K = small.K;
    const w = weights(4);
    const net = new DtNet(small, S, A, w);
    const rng = new Rng(5);
    const b = randomBatch(rng, K);
    b.timesteps = Int32Array.from({ length: K }, (_, i) => i);
    const yTf = forward(net, b, K);
    const model = { config: small, obsDim: S, actDim: A, weights: w, obsMean: new Float32Array(S), obsStd: new Float32Array(S).fill(1), rtgScale: 1 };
    const rt = new DtRuntime(model);
    for (let t = 0; t < K; t++) {
      rt.pushReturn(b.rtg[t], t);
      const a = rt.pushState(b.states.subarray(t * S, (t + 1) * S), t);
      for (let d = 0; d < A; d++) expect(a[d]).toBeCloseTo(yTf[t * A + d], 4);
      rt.pushAction(b.actions.subarray(t * A, (t + 1) * A), t);
    }
    // Cached vs uncached controllers over a whole context (t ≤ K): the same actions, bit for bit.
    const cached = new DtController(model, 2.5, 'cached');
    const uncached = new DtController(model, 2.5, 'uncached');
    cached.reset();
    uncached.reset();
    for (let t = 0; t < K; t++) {
      const obs = Float32Array.from({ length: S }, () => rng.normal());
      const a1 = cached.act(obs);
      const a2 = uncached.act(obs);
      expect(Array.from(a1)).toEqual(Array.from(a2));
      cached.observeReward(0.1 * t);
      uncached.observeReward(0.1 * t);
    }
    net.dispose();
  });

  it('past K, every action is the trained model on the last K steps (t up to 3K): the tfjs graph on that window, cached and uncached bit for bit', () => {
    const K = small.K;
    const w = weights(6);
    const net = new DtNet(small, S, A, w);
    const model = { config: small, obsDim: S, actDim: A, weights: w, obsMean: new Float32Array(S), obsStd: new Float32Array(S).fill(1), rtgScale: 1 };
    const cached = new DtController(model, 2.5, 'cached');
    const uncached = new DtController(model, 2.5, 'uncached');
    const rng = new Rng(7);
    const steps: { rtg: number; obs: Float32Array; act: Float32Array }[] = [];
    /** The training graph's action for the newest of the last `len` steps (left-padded to `len` like a training segment). */
    const graphAction = (len: number) => {
      const window = steps.slice(-len);
      const pad = len - window.length;
      const b = randomBatch(new Rng(0), len, pad);
      window.forEach((st, i) => {
        const j = pad + i;
        b.states.set(st.obs, j * S);
        b.actions.set(st.act, j * A); // the newest action is masked by causality; any value does
        b.rtg[j] = st.rtg;
        b.timesteps[j] = steps.length - window.length + i;
      });
      for (let j = 0; j < pad; j++) b.timesteps[j] = 0;
      return forward(net, b, len).slice((len - 1) * A);
    };
    let worst = 0;
    let windowMatters = 0;
    for (let t = 0; t < 3 * K; t++) {
      const obs = Float32Array.from({ length: S }, () => rng.normal());
      const rtg = cached.returnToGo;
      const a = cached.act(obs);
      expect(Array.from(uncached.act(obs))).toEqual(Array.from(a));
      steps.push({ rtg, obs, act: a });
      const ref = graphAction(K);
      for (let d = 0; d < A; d++) worst = Math.max(worst, Math.abs(a[d] - ref[d]));
      // A window one step longer is another model past K: the equality above can fail.
      if (t >= K) {
        const longer = graphAction(K + 1);
        for (let d = 0; d < A; d++) windowMatters = Math.max(windowMatters, Math.abs(longer[d] - ref[d]));
      }
      const r = rng.uniform(0, 0.3);
      cached.observeReward(r);
      uncached.observeReward(r);
    }
    expect(worst).toBeLessThan(1e-4);
    expect(windowMatters).toBeGreaterThan(1e-2);
    net.dispose();
  });

  it('a DtRuntime holds one window: a token past 3K is refused, not evicted', () => {
    const model = { config: small, obsDim: S, actDim: A, weights: weights(8), obsMean: new Float32Array(S), obsStd: new Float32Array(S).fill(1), rtgScale: 1 };
    const rt = new DtRuntime(model);
    const obs = new Float32Array(S);
    for (let t = 0; t < small.K; t++) {
      rt.pushReturn(0, t);
      rt.pushState(obs, t);
      if (t < small.K - 1) rt.pushAction(new Float32Array(A), t);
    }
    rt.pushAction(new Float32Array(A), small.K - 1); // token 3K: the window is full
    expect(() => rt.pushReturn(0, small.K)).toThrow(/at most 6 steps \(18 tokens\)/);
    rt.reset();
    expect(() => rt.pushReturn(0, 0)).not.toThrow();
  });

  it('grouped block-diagonal attention: each sequence of a batch is computed as if alone', () => {
    const K = small.K;
    const B = 20; // 2 groups of 10 sequences (3K = 18 tokens each)
    const net = new DtNet(small, S, A, weights(9));
    const rng = new Rng(10);
    const rows = Array.from({ length: B }, (_, i) => randomBatch(rng, K, i % 3));
    const cat = (k: 'states' | 'actions' | 'rtg' | 'mask') => {
      const parts = rows.map((r) => r[k]);
      const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
      parts.reduce((o, p) => (out.set(p, o), o + p.length), 0);
      return out;
    };
    const ts = new Int32Array(B * K);
    rows.forEach((r, i) => ts.set(r.timesteps, i * K));
    const all = tf.tidy(() =>
      net.forward({ states: tf.tensor3d(cat('states'), [B, K, S]), actions: tf.tensor3d(cat('actions'), [B, K, A]), rtg: tf.tensor3d(cat('rtg'), [B, K, 1]), timesteps: tf.tensor2d(ts, [B, K], 'int32'), mask: tf.tensor2d(cat('mask'), [B, K]) }).dataSync() as Float32Array,
    ).slice();
    for (const i of [0, 9, 10, 19]) {
      const alone = forward(net, rows[i], K);
      for (let j = (i % 3) * A; j < K * A; j++) expect(all[i * K * A + j]).toBeCloseTo(alone[j], 5);
    }
    net.dispose();
  });

  it('the DT artifact round-trips: the reloaded controller acts the same', async () => {
    const { saveDt, loadDt } = await import('./artifact.js');
    const os = await import('node:os');
    const path = await import('node:path');
    const { mkdtempSync, rmSync } = await import('node:fs');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dt-art-'));
    const w = weights(12);
    const m = { config: small, obsDim: S, actDim: A, weights: w, rawWeights: w, obsMean: new Float32Array(S).fill(0.5), obsStd: new Float32Array(S).fill(2), rtgScale: 3, targetReturn: 4, stats: { updates: 0, seconds: 0, finalLoss: 0, trainableParams: 0, totalParams: 0, trainableShare: 1 } };
    await saveDt(path.join(dir, 'p'), m);
    const back = loadDt(path.join(dir, 'p'));
    const c1 = new DtController(m, 4);
    const norm = back.manifest.observationNormalization;
    if (norm?.kind !== 'standard') throw new Error('expected the standard normalisation');
    const c2 = new DtController({ config: back.config, obsDim: back.obsDim, actDim: back.actDim, weights: back.weights, obsMean: Float32Array.from(norm.mean), obsStd: Float32Array.from(norm.std), rtgScale: back.manifest.dt.rtgScale }, back.manifest.dt.targetReturn);
    c1.reset();
    c2.reset();
    const obs = Float32Array.from({ length: S }, (_, i) => i / 3);
    expect(Array.from(c2.act(obs))).toEqual(Array.from(c1.act(obs)));
    rmSync(dir, { recursive: true, force: true });
  });

  it('LoRA with B = 0 leaves the output unchanged', () => {
    const K = small.K;
    const loraCfg = dtConfig({ ...small, loraRank: 3 });
    const wBase = weights(6);
    const wLora = { ...initDtWeights(dtParamSpecs(loraCfg, S, A), new Rng(99)), ...wBase };
    // A is random, B is zero: ΔW = (α/r)·B·A = 0.
    expect(wLora['h0.q_loraA'].some((x) => x !== 0)).toBe(true);
    expect(wLora['h0.q_loraB'].every((x) => x === 0)).toBe(true);
    const base = new DtNet(small, S, A, wBase);
    const lora = new DtNet(loraCfg, S, A, wLora);
    const b = randomBatch(new Rng(7), K);
    expect(Array.from(forward(lora, b, K))).toEqual(Array.from(forward(base, b, K)));
    const merged = mergeLora(wLora, loraCfg);
    expect(Array.from(merged['h1.fc_W'])).toEqual(Array.from(wBase['h1.fc_W']));
    // A non-zero B does change it (so the check above could fail).
    wLora['h0.v_loraB'].fill(0.5);
    lora.setWeights(wLora);
    expect(Math.max(...forward(lora, b, K).map((x, i) => Math.abs(x - forward(base, b, K)[i])))).toBeGreaterThan(1e-4);
    base.dispose();
    lora.dispose();
  });

  it('return-to-go bookkeeping: suffix sums ÷ scale in batches, R̂ − r at evaluation', () => {
    const T = 8;
    const rewards = Float64Array.from({ length: T }, (_, i) => i + 1);
    const ep: Episode = {
      id: 0, seed: 0, source: 's',
      observations: Float32Array.from({ length: (T + 1) * S }, (_, i) => i),
      actions: new Float32Array(T * A).fill(0.5),
      rewards, terminations: Uint8Array.from({ length: T }, (_, i) => (i === T - 1 ? 1 : 0)), truncations: new Uint8Array(T),
      endReason: 'x', metrics: {},
    };
    const ds: OfflineDataset = { meta: { datasetId: 'x', taskId: 't', scene: 's', obsDim: S, actDim: A, observationSpace: null, actionSpace: null, controlPeriod: 1, maxEpisodeSteps: T }, episodes: [ep] };
    const sampler = new SegmentSampler(ds, 4, 'uniform', new Rng(1), { rtgScale: 2 });
    for (let k = 0; k < 20; k++) {
      const b = sampler.sample(1, { nStep: 3, gamma: 0.5, rewardScale: 1 });
      for (let j = 0; j < 4; j++) {
        if (!b.mask[j]) continue;
        const t = b.timesteps[j];
        let g = 0;
        for (let i = t; i < T; i++) g += rewards[i];
        expect(b.rtg[j]).toBeCloseTo(g / 2, 6);
        // n-step return with the terminal cut.
        let n = 0;
        for (let i = 0; i < 3 && t + i < T; i++) n += 0.5 ** i * rewards[t + i];
        expect(b.nstepReturn[j]).toBeCloseTo(n, 5);
      }
    }
    const w = weights(8);
    const ctrl = new DtController({ config: small, obsDim: S, actDim: A, weights: w, obsMean: new Float32Array(S), obsStd: new Float32Array(S).fill(1), rtgScale: 2 }, 10);
    ctrl.reset();
    ctrl.act(new Float32Array(S));
    ctrl.observeReward(3);
    ctrl.act(new Float32Array(S));
    ctrl.observeReward(1.5);
    expect(ctrl.returnToGo).toBeCloseTo(5.5, 12);
    ctrl.reset();
    expect(ctrl.returnToGo).toBe(10);
  });

  it('trains: the loss falls on a learnable mapping, with CRDT and with LoRA', async () => {
    const rng = new Rng(11);
    const episodes: Episode[] = Array.from({ length: 6 }, (_, e) => {
      const T = 15;
      const obs = Float32Array.from({ length: (T + 1) * S }, () => rng.normal());
      const act = new Float32Array(T * A);
      for (let t = 0; t < T; t++) for (let d = 0; d < A; d++) act[t * A + d] = Math.tanh(obs[t * S + d]);
      return { id: e, seed: e, source: 's', observations: obs, actions: act, rewards: Float64Array.from({ length: T }, () => e / 5), terminations: new Uint8Array(T), truncations: Uint8Array.from({ length: T }, (_, i) => (i === T - 1 ? 1 : 0)), endReason: 'time-limit', metrics: {} };
    });
    const ds: OfflineDataset = { meta: { datasetId: 'x', taskId: 't', scene: 's', obsDim: S, actDim: A, observationSpace: null, actionSpace: null, controlPeriod: 1, maxEpisodeSteps: 15 }, episodes };
    const losses: number[] = [];
    const cfg = { K: 4, embed: 16, layers: 1, heads: 1, dropout: 0, batch: 16, updates: 60, warmupSteps: 1, lr: 3e-3, maxTimestep: 32 };
    const m = await trainDt(ds, cfg, { seed: 1, onLog: (_u, f) => losses.push(f.loss), logEvery: 10 });
    expect(losses[losses.length - 1]).toBeLessThan(0.6 * losses[0]);
    const cr = await trainDt(ds, { ...cfg, updates: 10, eta: 1, nStep: 2 }, { seed: 1, onLog: (_u, f) => expect(Number.isFinite(f.criticLoss)).toBe(true), logEvery: 5 });
    expect(Number.isFinite(cr.stats.finalLoss)).toBe(true);
    const lo = await trainDt(ds, { ...cfg, updates: 5, loraRank: 2 }, { seed: 2, init: m.rawWeights, lora: true });
    expect(lo.stats.trainableShare).toBeLessThan(0.5);
    // Frozen base weights did not move.
    expect(Array.from(lo.rawWeights['h0.q_W'])).toEqual(Array.from(m.rawWeights['h0.q_W']));
  });
});
