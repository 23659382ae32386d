import type { Controller } from '../../src/core/controller.js';
import type { DtConfig } from './config.js';
import type { Weights } from './weights.js';

/**
 * Pure-JS decision-transformer inference (no tfjs): the trained model's pass over the last K
 * timesteps (the reference DT's window), at every step of an episode.
 *
 * Token by token with a key/value cache: while an episode fits in the context (its first K
 * steps) one action costs one token step per new token (a_{t−1}, R̂_t, s_t). Past K the window
 * slides, and a cache cannot follow it: the kept tokens' keys and values in layers ≥ 1 were
 * computed while the evicted tokens were still in view, so reusing them is a different model
 * (streaming attention), not the trained one. So past K the window is recomputed from scratch.
 * Either way only the newest state token runs the last layer's attention and MLP; the others
 * need just its keys and values (`step(x, false)`).
 */
export interface DtRuntimeModel {
  config: DtConfig;
  obsDim: number;
  actDim: number;
  /** Merged weights (no LoRA tensors: see mergeLora). */
  weights: Weights;
  obsMean: Float32Array;
  obsStd: Float32Array;
  rtgScale: number;
}

function layerNormInto(x: Float32Array, g: Float32Array, b: Float32Array, out: Float32Array): Float32Array {
  const n = x.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[i];
  mean /= n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (x[i] - mean) ** 2;
  const inv = 1 / Math.sqrt(v / n + 1e-5);
  for (let i = 0; i < n; i++) out[i] = (x[i] - mean) * inv * g[i] + b[i];
  return out;
}

/** out = x·W + b, W row-major [in, out]. */
function affine(x: Float32Array, W: Float32Array, b: Float32Array, out: Float32Array): Float32Array {
  const n = x.length;
  const m = out.length;
  out.set(b);
  for (let i = 0; i < n; i++) {
    const xi = x[i];
    if (xi === 0) continue;
    const row = i * m;
    for (let j = 0; j < m; j++) out[j] += xi * W[row + j];
  }
  return out;
}

/** Per-layer keys and values of one window: at most K steps, 3K tokens. */
class KvCache {
  readonly keys: Float32Array[];
  readonly values: Float32Array[];
  /** Tokens pushed since the last clear. */
  count = 0;
  constructor(
    layers: number,
    readonly capacity: number,
    readonly H: number,
  ) {
    this.keys = Array.from({ length: layers }, () => new Float32Array(capacity * H));
    this.values = Array.from({ length: layers }, () => new Float32Array(capacity * H));
  }
  clear(): void {
    this.count = 0;
  }
}

export class DtRuntime {
  private readonly H: number;
  private readonly cache: KvCache;
  private readonly scratch: Record<string, Float32Array>;
  private readonly w: Weights;

  constructor(readonly model: DtRuntimeModel) {
    const c = model.config;
    this.H = c.embed;
    this.w = model.weights;
    this.cache = new KvCache(c.layers, 3 * c.K, this.H);
    const H = this.H;
    this.scratch = {
      x: new Float32Array(H),
      h: new Float32Array(H),
      q: new Float32Array(H),
      k: new Float32Array(H),
      v: new Float32Array(H),
      y: new Float32Array(H),
      o: new Float32Array(H),
      fc: new Float32Array(c.mlpRatio * H),
      pj: new Float32Array(H),
      att: new Float32Array(3 * c.K),
      act: new Float32Array(model.actDim),
      sn: new Float32Array(model.obsDim),
      one: new Float32Array(1),
    };
  }

  reset(): void {
    this.cache.clear();
  }

  private normalise(obs: Float32Array): Float32Array {
    const { obsMean, obsStd } = this.model;
    const sn = this.scratch.sn;
    for (let i = 0; i < sn.length; i++) sn[i] = (obs[i] - obsMean[i]) / obsStd[i];
    return sn;
  }

  /** Embedding of one token (kind 0 = R̂, 1 = s, 2 = a) at `timestep`, after the input LayerNorm. */
  private embed(kind: 0 | 1 | 2, input: Float32Array, timestep: number): Float32Array {
    const { w, scratch: s, H } = this;
    const name = kind === 0 ? 'ret' : kind === 1 ? 'st' : 'ac';
    affine(input, w[`${name}_W`], w[`${name}_b`], s.x);
    const t = Math.min(timestep, this.model.config.maxTimestep - 1) * H;
    for (let i = 0; i < H; i++) s.x[i] += w.ts_emb[t + i];
    return layerNormInto(s.x, w.ln_in_g, w.ln_in_b, s.x);
  }

  /**
   * Run one token through every layer with the cache; returns the final (ln_f) hidden state, or
   * null with `output` false: then the last layer stores the token's key and value and stops
   * (no later token reads the rest of it).
   */
  private step(x: Float32Array, output: boolean): Float32Array | null {
    const { w, scratch: s, H, cache } = this;
    const c = this.model.config;
    const nh = c.heads;
    const hd = H / nh;
    // One window, never more: evicting tokens would be streaming attention, not the trained model.
    if (cache.count >= cache.capacity) throw new RangeError(`DtRuntime: a window holds at most ${this.model.config.K} steps (${cache.capacity} tokens); reset() before the next one`);
    const slot = cache.count;
    const n = cache.count + 1;
    for (let l = 0; l < c.layers; l++) {
      const p = `h${l}.`;
      layerNormInto(x, w[p + 'ln1_g'], w[p + 'ln1_b'], s.h);
      affine(s.h, w[p + 'k_W'], w[p + 'k_b'], s.k);
      affine(s.h, w[p + 'v_W'], w[p + 'v_b'], s.v);
      const K = cache.keys[l];
      const V = cache.values[l];
      K.set(s.k, slot * H);
      V.set(s.v, slot * H);
      if (!output && l === c.layers - 1) break;
      affine(s.h, w[p + 'q_W'], w[p + 'q_b'], s.q);
      s.y.fill(0);
      const scale = 1 / Math.sqrt(hd);
      for (let h = 0; h < nh; h++) {
        const off = h * hd;
        let max = -Infinity;
        // Keys in time order: oldest first (same summation order as a fresh pass).
        for (let j = 0; j < n; j++) {
          let dot = 0;
          for (let d = 0; d < hd; d++) dot += s.q[off + d] * K[j * H + off + d];
          s.att[j] = dot * scale;
          if (s.att[j] > max) max = s.att[j];
        }
        let sum = 0;
        for (let j = 0; j < n; j++) {
          s.att[j] = Math.exp(s.att[j] - max);
          sum += s.att[j];
        }
        for (let j = 0; j < n; j++) {
          const a = s.att[j] / sum;
          for (let d = 0; d < hd; d++) s.y[off + d] += a * V[j * H + off + d];
        }
      }
      affine(s.y, w[p + 'o_W'], w[p + 'o_b'], s.o);
      for (let i = 0; i < H; i++) x[i] += s.o[i];
      layerNormInto(x, w[p + 'ln2_g'], w[p + 'ln2_b'], s.h);
      affine(s.h, w[p + 'fc_W'], w[p + 'fc_b'], s.fc);
      for (let i = 0; i < s.fc.length; i++) if (s.fc[i] < 0) s.fc[i] = 0;
      affine(s.fc, w[p + 'pj_W'], w[p + 'pj_b'], s.pj);
      for (let i = 0; i < H; i++) x[i] += s.pj[i];
    }
    cache.count++;
    return output ? layerNormInto(x, w.lnf_g, w.lnf_b, s.h) : null;
  }

  pushReturn(rtgScaled: number, timestep: number): void {
    this.scratch.one[0] = rtgScaled;
    this.step(this.embed(0, this.scratch.one, timestep), false);
  }

  pushAction(action: Float32Array, timestep: number): void {
    this.step(this.embed(2, action, timestep), false);
  }

  /** Push an older state of a recomputed window: its keys and values only (no action is read from it). */
  pushContextState(obs: Float32Array, timestep: number): void {
    this.step(this.embed(1, this.normalise(obs), timestep), false);
  }

  /** Push the (raw) observation s_t and return the predicted action tanh(head(h_s)). */
  pushState(obs: Float32Array, timestep: number): Float32Array {
    const h = this.step(this.embed(1, this.normalise(obs), timestep), true) as Float32Array;
    const out = affine(h, this.w.head_W, this.w.head_b, this.scratch.act);
    const a = new Float32Array(out.length);
    for (let i = 0; i < a.length; i++) a[i] = Math.tanh(out[i]);
    return a;
  }
}

/**
 * The DT as a Controller: conditioned on a target return, which `observeReward` decrements
 * (R̂_{t+1} = R̂_t − r_t, Chen et al. 2021). Rollouts that know the reward call observeReward.
 *
 * Every action is the trained model's on the last K steps. `cached` (the default) steps the
 * cache while the episode fits in K and recomputes the window past K; `uncached` recomputes it
 * at every step (the reference, for tests and latency comparisons). Both give the same actions,
 * bit for bit.
 */
export class DtController implements Controller {
  readonly kind = 'dt';
  private readonly rt: DtRuntime;
  private t = 0;
  private rtg: number;
  private lastAction: Float32Array | null = null;
  /** The last K (R̂, s, a) steps, to recompute the window. */
  private readonly hist: { rtg: number; obs: Float32Array; act: Float32Array | null; t: number }[] = [];

  constructor(
    readonly model: DtRuntimeModel,
    /** Target return in reward units (not scaled). */
    public targetReturn: number,
    readonly mode: 'cached' | 'uncached' = 'cached',
  ) {
    this.rt = new DtRuntime(model);
    this.rtg = targetReturn;
  }

  /** Return-to-go still to achieve, reward units. */
  get returnToGo(): number {
    return this.rtg;
  }

  reset(): void {
    this.rt.reset();
    this.t = 0;
    this.rtg = this.targetReturn;
    this.lastAction = null;
    this.hist.length = 0;
  }

  observeReward(reward: number): void {
    this.rtg -= reward;
  }

  act(obs: Float32Array): Float32Array {
    const scale = this.model.rtgScale;
    const K = this.model.config.K;
    if (this.hist.length) this.hist[this.hist.length - 1].act = this.lastAction;
    this.hist.push({ rtg: this.rtg, obs: Float32Array.from(obs), act: null, t: this.t });
    const slid = this.hist.length > K;
    if (slid) this.hist.shift();
    let a: Float32Array;
    if (this.mode === 'cached' && !slid) {
      // The cache holds exactly this episode's tokens so far: add the new ones.
      if (this.lastAction) this.rt.pushAction(this.lastAction, this.t - 1);
      this.rt.pushReturn(this.rtg / scale, this.t);
      a = this.rt.pushState(obs, this.t);
    } else {
      this.rt.reset();
      const last = this.hist.length - 1;
      for (let i = 0; i < last; i++) {
        const h = this.hist[i];
        this.rt.pushReturn(h.rtg / scale, h.t);
        this.rt.pushContextState(h.obs, h.t);
        this.rt.pushAction(h.act as Float32Array, h.t);
      }
      const h = this.hist[last];
      this.rt.pushReturn(h.rtg / scale, h.t);
      a = this.rt.pushState(h.obs, h.t);
    }
    this.lastAction = a;
    this.t++;
    return a;
  }
}
