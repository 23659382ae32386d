import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../src/core/rng.js';
import { dropoutMask, layerNorm } from '../nn/index.js';
import type { DtConfig } from './config.js';
import { dtParamSpecs, LORA_TARGETS, type ParamSpec, type Weights } from './weights.js';

/**
 * GPT-style causal decision transformer (Chen et al. 2021) as a tfjs graph for training.
 *
 * Tokens per timestep: (R̂_t, s_t, a_t), each linearly embedded plus a learned timestep embedding,
 * then LayerNorm; GPT-2 pre-LN blocks with no positional embedding; a_t is predicted from the
 * s_t token through a tanh head. The attention mask is causal and hides left padding.
 */
export interface DtBatch {
  /** [B, K, S] normalised states. */
  states: tf.Tensor3D;
  /** [B, K, A] actions (padding −10, as the reference). */
  actions: tf.Tensor3D;
  /** [B, K, 1] scaled returns-to-go. */
  rtg: tf.Tensor3D;
  /** [B, K] int32 timesteps. */
  timesteps: tf.Tensor2D;
  /** [B, K] 1 for real steps, 0 for padding. */
  mask: tf.Tensor2D;
}

export class DtNet {
  readonly specs: ParamSpec[];
  readonly vars: Record<string, tf.Variable>;

  constructor(
    readonly config: DtConfig,
    readonly obsDim: number,
    readonly actDim: number,
    weights: Weights,
    /** Names to train; the rest are frozen (LoRA). Default: all. */
    trainable?: (name: string) => boolean,
  ) {
    this.specs = dtParamSpecs(config, obsDim, actDim);
    this.vars = {};
    for (const s of this.specs) {
      const w = weights[s.name];
      if (!w) throw new RangeError(`dt: missing weight ${s.name}`);
      this.vars[s.name] = tf.variable(tf.tensor(w, s.shape, 'float32'), trainable ? trainable(s.name) : true, `dt/${s.name}/${uid++}`);
    }
  }

  get trainableVars(): tf.Variable[] {
    return this.specs.map((s) => this.vars[s.name]).filter((v) => v.trainable);
  }

  get numParams(): number {
    return Object.values(this.vars).reduce((n, v) => n + v.size, 0);
  }

  getWeights(): Weights {
    const out: Weights = {};
    for (const s of this.specs) out[s.name] = Float32Array.from(this.vars[s.name].dataSync() as Float32Array);
    return out;
  }

  setWeights(w: Weights): void {
    for (const s of this.specs) {
      const t = tf.tensor(w[s.name], s.shape, 'float32');
      this.vars[s.name].assign(t);
      t.dispose();
    }
  }

  private dense(x: tf.Tensor2D, name: string): tf.Tensor2D {
    const v = this.vars;
    let y = tf.add(tf.matMul(x, v[`${name}_W`] as tf.Tensor2D), v[`${name}_b`]) as tf.Tensor2D;
    const A = v[`${name}_loraA`];
    if (A) {
      // LoRA (Hu et al. 2021): W x + (α/r)·B·A x, here in row-vector form x·A·B.
      const scale = this.config.loraAlpha / this.config.loraRank;
      y = tf.add(y, tf.mul(tf.matMul(tf.matMul(x, A as tf.Tensor2D), v[`${name}_loraB`] as tf.Tensor2D), scale)) as tf.Tensor2D;
    }
    return y;
  }

  private drop(x: tf.Tensor2D, rng: Rng | null | undefined): tf.Tensor2D {
    const p = this.config.dropout;
    return rng && p > 0 ? (tf.mul(x, dropoutMask(rng, x.shape[0], x.shape[1], p)) as tf.Tensor2D) : x;
  }

  /**
   * Predicted actions [B·K, A] (tanh), one per state token. Dropout only with `rng` (training).
   * `hidden` returns the final state-token features too (for inspection in tests).
   */
  forward(b: DtBatch, rng?: Rng | null): tf.Tensor2D {
    const c = this.config;
    const [B, K, S] = b.states.shape;
    const A = this.actDim;
    const H = c.embed;
    const T = 3 * K;
    const v = this.vars;
    const time = embeddingLookup(v.ts_emb as tf.Tensor2D, b.timesteps.dataSync() as Int32Array);
    const emb = (x: tf.Tensor3D, d: number, name: string) => tf.add(this.dense(tf.reshape(x, [B * K, d]) as tf.Tensor2D, name), time) as tf.Tensor2D;
    const r = emb(b.rtg, 1, 'ret');
    const s = emb(b.states, S, 'st');
    const a = emb(b.actions, A, 'ac');
    // Interleave (R̂_1, s_1, a_1, R̂_2, ...): [B, K, 3, H] → [B·3K, H].
    let x = tf.reshape(tf.stack([tf.reshape(r, [B, K, H]), tf.reshape(s, [B, K, H]), tf.reshape(a, [B, K, H])], 2), [B * T, H]) as tf.Tensor2D;
    x = layerNorm(x, v.ln_in_g, v.ln_in_b, 1e-5);
    x = this.drop(x, rng);
    // Attention as 2-D matMuls over groups of g sequences with a block-diagonal causal mask: on wasm a
    // rank-4 batched matMul takes a slow non-XNNPACK path (~30× slower per FLOP than 2-D, measured).
    const g = attentionGroup(B, T);
    const biases = groupBiases(b.mask.dataSync() as Float32Array, B, K, g);
    const nh = c.heads;
    const hd = H / nh;
    for (let l = 0; l < c.layers; l++) {
      const h = layerNorm(x, v[`h${l}.ln1_g`], v[`h${l}.ln1_b`], 1e-5);
      const q = this.dense(h, `h${l}.q`);
      const k = this.dense(h, `h${l}.k`);
      const vv = this.dense(h, `h${l}.v`);
      const groups: tf.Tensor2D[] = [];
      for (let gi = 0; gi < B / g; gi++) {
        const rows = (t: tf.Tensor2D) => tf.slice(t, [gi * g * T, 0], [g * T, H]) as tf.Tensor2D;
        const [qg, kg, vg] = [rows(q), rows(k), rows(vv)];
        const heads: tf.Tensor2D[] = [];
        for (let hh = 0; hh < nh; hh++) {
          const cols = (t: tf.Tensor2D) => (nh === 1 ? t : (tf.slice(t, [0, hh * hd], [g * T, hd]) as tf.Tensor2D));
          let att = tf.add(tf.mul(tf.matMul(cols(qg), tf.transpose(cols(kg))), 1 / Math.sqrt(hd)), biases[gi]) as tf.Tensor2D;
          att = tf.softmax(att);
          if (rng && c.dropout > 0) att = tf.mul(att, dropoutMask(rng, g * T, g * T, c.dropout)) as tf.Tensor2D;
          heads.push(tf.matMul(att, cols(vg)));
        }
        groups.push(nh === 1 ? heads[0] : (tf.concat(heads, 1) as tf.Tensor2D));
      }
      const y = (groups.length === 1 ? groups[0] : tf.concat(groups, 0)) as tf.Tensor2D;
      x = tf.add(x, this.drop(this.dense(y, `h${l}.o`), rng)) as tf.Tensor2D;
      const h2 = layerNorm(x, v[`h${l}.ln2_g`], v[`h${l}.ln2_b`], 1e-5);
      const m = this.dense(tf.relu(this.dense(h2, `h${l}.fc`)) as tf.Tensor2D, `h${l}.pj`);
      x = tf.add(x, this.drop(m, rng)) as tf.Tensor2D;
    }
    x = layerNorm(x, v.lnf_g, v.lnf_b, 1e-5);
    // State tokens sit at 3t + 1.
    const stateTok = tf.reshape(tf.slice(tf.reshape(x, [B, K, 3, H]), [0, 0, 1, 0], [B, K, 1, H]), [B * K, H]) as tf.Tensor2D;
    return tf.tanh(this.dense(stateTok, 'head')) as tf.Tensor2D;
  }

  dispose(): void {
    Object.values(this.vars).forEach((v) => v.dispose());
  }
}
let uid = 0;

/**
 * Rows `idx` of a table [V, H]. The forward is tf.gather; its gradient is a scatter-add done in JS,
 * because tfjs's gather gradient needs UnsortedSegmentSum, which the wasm backend lacks.
 */
export function embeddingLookup(table: tf.Tensor2D, idx: Int32Array): tf.Tensor2D {
  const [V, H] = table.shape;
  const f = tf.customGrad(((t: tf.Tensor, save: tf.GradSaveFunc) => {
    save([]);
    return {
      value: tf.gather(t, tf.tensor1d(idx, 'int32')),
      gradFunc: (dy: tf.Tensor) => {
        const g = new Float32Array(V * H);
        const d = dy.dataSync() as Float32Array;
        for (let n = 0; n < idx.length; n++) {
          const row = idx[n] * H;
          for (let j = 0; j < H; j++) g[row + j] += d[n * H + j];
        }
        return tf.tensor2d(g, [V, H]);
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(table) as tf.Tensor2D;
}

/** Sequences per attention group: the largest divisor of B with g·3K ≤ 240 (our measured sweet spot). */
export function attentionGroup(B: number, T: number): number {
  let g = 1;
  for (let d = 1; d <= B; d++) if (B % d === 0 && d * T <= 240) g = d;
  return g;
}

/**
 * Additive attention bias per group, [g·3K, g·3K]: 0 where query i may see key j (same sequence,
 * j ≤ i, j not padding), −1e9 elsewhere.
 */
export function groupBiases(mask: Float32Array, B: number, K: number, g: number): tf.Tensor2D[] {
  const T = 3 * K;
  const n = g * T;
  const out: tf.Tensor2D[] = [];
  for (let gi = 0; gi < B / g; gi++) {
    const bias = new Float32Array(n * n).fill(-1e9);
    for (let s = 0; s < g; s++) {
      const b = gi * g + s;
      for (let i = 0; i < T; i++) {
        for (let j = 0; j <= i; j++) if (mask[b * K + Math.floor(j / 3)] > 0) bias[(s * T + i) * n + s * T + j] = 0;
      }
    }
    out.push(tf.tensor2d(bias, [n, n]));
  }
  return out;
}

/** Mean squared error over real (unpadded) actions (Chen et al. 2021). */
export function maskedMse(pred: tf.Tensor2D, target: tf.Tensor3D, mask: tf.Tensor2D): tf.Scalar {
  const A = pred.shape[1];
  const t = tf.reshape(target, [-1, A]);
  const m = tf.reshape(mask, [-1, 1]);
  return tf.div(tf.sum(tf.mul(tf.square(tf.sub(pred, t)), m)), tf.mul(tf.sum(m), A)) as tf.Scalar;
}

export { LORA_TARGETS };
