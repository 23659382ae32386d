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
    const bias = attentionBias(b.mask, K);
    const nh = c.heads;
    const hd = H / nh;
    for (let l = 0; l < c.layers; l++) {
      const h = layerNorm(x, v[`h${l}.ln1_g`], v[`h${l}.ln1_b`], 1e-5);
      const split = (y: tf.Tensor2D) => tf.transpose(tf.reshape(y, [B, T, nh, hd]), [0, 2, 1, 3]) as tf.Tensor4D;
      const q = split(this.dense(h, `h${l}.q`));
      const k = split(this.dense(h, `h${l}.k`));
      const vv = split(this.dense(h, `h${l}.v`));
      // Explicit transpose: batched matMul with transposeB is slow on wasm (controllers/nn/README).
      let att = tf.mul(tf.matMul(q, tf.transpose(k, [0, 1, 3, 2])), 1 / Math.sqrt(hd));
      att = tf.softmax(tf.add(att, bias));
      if (rng && c.dropout > 0) att = tf.mul(att, tf.reshape(dropoutMask(rng, B * nh * T, T, c.dropout), [B, nh, T, T]));
      const y = tf.reshape(tf.transpose(tf.matMul(att, vv), [0, 2, 1, 3]), [B * T, H]) as tf.Tensor2D;
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

/** Additive attention bias [B, 1, 3K, 3K]: 0 where query i may see key j (j ≤ i and j is not padding), −1e9 elsewhere. */
export function attentionBias(mask: tf.Tensor2D, K: number): tf.Tensor4D {
  const [B] = mask.shape;
  const T = 3 * K;
  const m = mask.dataSync();
  const out = new Float32Array(B * T * T);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < T; i++) {
      for (let j = 0; j < T; j++) {
        const ok = j <= i && m[b * K + Math.floor(j / 3)] > 0;
        out[(b * T + i) * T + j] = ok ? 0 : -1e9;
      }
    }
  }
  return tf.tensor4d(out, [B, 1, T, T]);
}

/** Mean squared error over real (unpadded) actions (Chen et al. 2021). */
export function maskedMse(pred: tf.Tensor2D, target: tf.Tensor3D, mask: tf.Tensor2D): tf.Scalar {
  const A = pred.shape[1];
  const t = tf.reshape(target, [-1, A]);
  const m = tf.reshape(mask, [-1, 1]);
  return tf.div(tf.sum(tf.mul(tf.square(tf.sub(pred, t)), m)), tf.mul(tf.sum(m), A)) as tf.Scalar;
}

export { LORA_TARGETS };
