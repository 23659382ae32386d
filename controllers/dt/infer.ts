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

/**
 * Rows r0..r1−1 of out = X·W + b (X rows of `n` values, out rows of `m`). Each output element
 * is summed in the same order as `affine`, so each row equals `affine` on that row. Rows
 * go four at a time, so that each weight read from memory serves four tokens.
 */
function affineRows(X: Float32Array, n: number, r0: number, r1: number, W: Float32Array, b: Float32Array, out: Float32Array, m: number): void {
  for (let r = r0; r < r1; r++) out.set(b, r * m);
  for (let i = 0; i < n; i++) {
    const row = i * m;
    let r = r0;
    for (; r < r1; r++) {
      const x0 = X[r * n + i];
      const o0 = r * m;
      if (r + 3 < r1) {
        const x1 = X[(r + 1) * n + i];
        const x2 = X[(r + 2) * n + i];
        const x3 = X[(r + 3) * n + i];
        // `affine` skips a zero input; four non-zero ones go together, the rest one by one.
        if (x0 !== 0 && x1 !== 0 && x2 !== 0 && x3 !== 0) {
          const o1 = o0 + m;
          const o2 = o1 + m;
          const o3 = o2 + m;
          for (let j = 0; j < m; j++) {
            const wj = W[row + j];
            out[o0 + j] += x0 * wj;
            out[o1 + j] += x1 * wj;
            out[o2 + j] += x2 * wj;
            out[o3 + j] += x3 * wj;
          }
          r += 3;
          continue;
        }
      }
      if (x0 === 0) continue;
      for (let j = 0; j < m; j++) out[o0 + j] += x0 * W[row + j];
    }
  }
}

/** One window step for `actWindow`: the scaled return-to-go, the raw observation, the action taken (null for the newest). */
export interface WindowStep {
  rtgScaled: number;
  obs: Float32Array;
  act: Float32Array | null;
  t: number;
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
  /** Row-per-token buffers of `actWindow` ([3K, H], fc [3K, 4H]). */
  private readonly win: Record<'x' | 'h' | 'q' | 'y' | 'o' | 'fc' | 'pj', Float32Array>;
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
    const T = 3 * c.K;
    this.win = { x: new Float32Array(T * H), h: new Float32Array(T * H), q: new Float32Array(T * H), y: new Float32Array(T * H), o: new Float32Array(T * H), fc: new Float32Array(T * c.mlpRatio * H), pj: new Float32Array(T * H) };
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
      this.attend(s.q, K, V, n, s.y);
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

  /** y = causal attention of query q over the first n keys and values (rows of H), per head, oldest key first. */
  private attend(q: Float32Array, K: Float32Array, V: Float32Array, n: number, y: Float32Array): void {
    const { scratch: s, H } = this;
    const nh = this.model.config.heads;
    const hd = H / nh;
    y.fill(0);
    const scale = 1 / Math.sqrt(hd);
    for (let h = 0; h < nh; h++) {
      const off = h * hd;
      let max = -Infinity;
      for (let j = 0; j < n; j++) {
        let dot = 0;
        for (let d = 0; d < hd; d++) dot += q[off + d] * K[j * H + off + d];
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
        for (let d = 0; d < hd; d++) y[off + d] += a * V[j * H + off + d];
      }
    }
  }

  /**
   * The action for the newest state of a window of 1..K steps, oldest first, computed afresh
   * (the cache is cleared first): layer by layer over all its tokens, with the same arithmetic
   * as pushing them one by one. Afterwards the cache holds the window, as if they had been pushed.
   */
  actWindow(steps: readonly WindowStep[]): Float32Array {
    const { w, scratch: s, H, win, cache } = this;
    const c = this.model.config;
    const m = steps.length;
    if (m < 1 || m > c.K) throw new RangeError(`DtRuntime.actWindow: ${m} steps, a window holds 1..${c.K}`);
    const n = 3 * m - 1;
    const F = c.mlpRatio * H;
    let r = 0;
    for (let i = 0; i < m; i++) {
      const st = steps[i];
      s.one[0] = st.rtgScaled;
      win.x.set(this.embed(0, s.one, st.t), r++ * H);
      win.x.set(this.embed(1, this.normalise(st.obs), st.t), r++ * H);
      if (i < m - 1) {
        if (!st.act) throw new RangeError(`DtRuntime.actWindow: step ${i} of ${m} has no action (only the newest may lack one)`);
        win.x.set(this.embed(2, st.act, st.t), r++ * H);
      }
    }
    const row = (a: Float32Array, i: number, width = H) => a.subarray(i * width, (i + 1) * width);
    for (let l = 0; l < c.layers; l++) {
      const p = `h${l}.`;
      // Rows a later layer or the head reads: every token, but in the last layer only the newest.
      const first = l === c.layers - 1 ? n - 1 : 0;
      const K = cache.keys[l];
      const V = cache.values[l];
      for (let i = 0; i < n; i++) layerNormInto(row(win.x, i), w[p + 'ln1_g'], w[p + 'ln1_b'], row(win.h, i));
      affineRows(win.h, H, 0, n, w[p + 'k_W'], w[p + 'k_b'], K, H);
      affineRows(win.h, H, 0, n, w[p + 'v_W'], w[p + 'v_b'], V, H);
      affineRows(win.h, H, first, n, w[p + 'q_W'], w[p + 'q_b'], win.q, H);
      for (let i = first; i < n; i++) this.attend(row(win.q, i), K, V, i + 1, row(win.y, i));
      affineRows(win.y, H, first, n, w[p + 'o_W'], w[p + 'o_b'], win.o, H);
      for (let i = first; i < n; i++) {
        const x = row(win.x, i);
        const o = row(win.o, i);
        for (let d = 0; d < H; d++) x[d] += o[d];
        layerNormInto(x, w[p + 'ln2_g'], w[p + 'ln2_b'], row(win.h, i));
      }
      affineRows(win.h, H, first, n, w[p + 'fc_W'], w[p + 'fc_b'], win.fc, F);
      for (let i = first * F; i < n * F; i++) if (win.fc[i] < 0) win.fc[i] = 0;
      affineRows(win.fc, F, first, n, w[p + 'pj_W'], w[p + 'pj_b'], win.pj, H);
      for (let i = first; i < n; i++) {
        const x = row(win.x, i);
        const pj = row(win.pj, i);
        for (let d = 0; d < H; d++) x[d] += pj[d];
      }
    }
    cache.count = n;
    return this.head(layerNormInto(row(win.x, n - 1), w.lnf_g, w.lnf_b, s.h));
  }

  private head(h: Float32Array): Float32Array {
    const out = affine(h, this.w.head_W, this.w.head_b, this.scratch.act);
    const a = new Float32Array(out.length);
    for (let i = 0; i < a.length; i++) a[i] = Math.tanh(out[i]);
    return a;
  }

  /** Push the (raw) observation s_t and return the predicted action tanh(head(h_s)). */
  pushState(obs: Float32Array, timestep: number): Float32Array {
    return this.head(this.step(this.embed(1, this.normalise(obs), timestep), true) as Float32Array);
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
      a = this.rt.actWindow(this.hist.map((h) => ({ rtgScaled: h.rtg / scale, obs: h.obs, act: h.act, t: h.t })));
    }
    this.lastAction = a;
    this.t++;
    return a;
  }
}
