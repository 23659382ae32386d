import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../src/core/rng.js';

/**
 * The target-oriented motion critic of Yang et al. ("Grasping the Invisible"), small version:
 * a fully-convolutional Q network over the heightmap that gives, for every pixel, Q(push) and
 * Q(grasp). As in the paper (and VPG), rotations are handled by rotating the input map R times
 * (R = 16, 22.5° apart), so that in each rotated frame the primitive acts along +x; the output
 * maps are rotated back. One trunk, two output channels (the paper uses two DenseNet-121 trunks
 * pretrained on ImageNet, at 224 × 224; we use three 3 × 3 conv layers at 64 × 64).
 *
 * Convolutions are written as im2col (9 shifted slices, concatenated) + matMul, because tfjs's
 * wasm backend has no Conv2DBackpropFilter kernel; slices, pads, concat and matMul all have
 * wasm gradients, and controllers/backend.ts makes the matMul gradient transpose-free.
 *
 * Input channels: height / 0.1 m, target mask. Output [B, P, P, 2] (push, grasp).
 */
export const CRITIC_CHANNELS = 2;

export interface CriticWeights {
  /** name → [shape, values]. */
  [name: string]: { shape: number[]; values: number[] };
}

const LAYERS: { name: string; k: number; cin: number; cout: number }[] = [
  { name: 'c1', k: 3, cin: CRITIC_CHANNELS, cout: 16 },
  { name: 'c2', k: 3, cin: 16, cout: 32 },
  { name: 'c3', k: 3, cin: 32, cout: 32 },
  { name: 'c4', k: 1, cin: 32, cout: 2 },
];

/**
 * 3 × 3 'same' convolution (NHWC). For training, im2col + matMul (differentiable on wasm); for
 * inference, tfjs's conv2d with the same weights: im2col column (dy·3 + dx)·C + c is exactly
 * the filter layout [dy][dx][c][f].
 */
function conv3(x: tf.Tensor4D, w: tf.Tensor2D, b: tf.Tensor1D, training: boolean): tf.Tensor4D {
  const [B, H, W, C] = x.shape;
  if (!training) return tf.add(tf.conv2d(x, w.reshape([3, 3, C, w.shape[1]]) as tf.Tensor4D, 1, 'same'), b) as tf.Tensor4D;
  const xp = tf.pad(x, [
    [0, 0],
    [1, 1],
    [1, 1],
    [0, 0],
  ]);
  const cols: tf.Tensor4D[] = [];
  for (let dy = 0; dy < 3; dy++) for (let dx = 0; dx < 3; dx++) cols.push(tf.slice(xp, [0, dy, dx, 0], [B, H, W, C]));
  const patches = tf.concat(cols, 3).reshape([B * H * W, 9 * C]);
  return tf.add(tf.matMul(patches, w), b).reshape([B, H, W, w.shape[1]]) as tf.Tensor4D;
}

export class FcnCritic {
  readonly vars: Record<string, tf.Variable> = {};
  private readonly optimizer: tf.Optimizer;

  constructor(
    readonly P: number,
    rng: Rng,
    readonly lr = 1e-3,
  ) {
    for (const l of LAYERS) {
      const fanIn = l.k * l.k * l.cin;
      // He-uniform init for the ReLU layers, small for the output so that Q starts near 0.
      const bound = l.name === 'c4' ? 0.01 : Math.sqrt(6 / fanIn);
      const w = Float32Array.from({ length: fanIn * l.cout }, () => rng.uniform(-bound, bound));
      this.vars[`${l.name}.w`] = tf.variable(tf.tensor2d(w, [fanIn, l.cout]), true);
      this.vars[`${l.name}.b`] = tf.variable(tf.zeros([l.cout]), true);
    }
    this.optimizer = tf.train.adam(lr);
  }

  /** Q maps [B, P, P, 2] for inputs [B, P, P, CRITIC_CHANNELS]. */
  apply(x: tf.Tensor4D, training = false): tf.Tensor4D {
    const v = this.vars;
    const w = (n: string) => v[`${n}.w`] as unknown as tf.Tensor2D;
    const b = (n: string) => v[`${n}.b`] as unknown as tf.Tensor1D;
    let h = tf.relu(conv3(x, w('c1'), b('c1'), training)) as tf.Tensor4D;
    h = tf.maxPool(h, 2, 2, 'valid');
    h = tf.relu(conv3(h, w('c2'), b('c2'), training)) as tf.Tensor4D;
    h = tf.maxPool(h, 2, 2, 'valid');
    h = tf.relu(conv3(h, w('c3'), b('c3'), training)) as tf.Tensor4D;
    const [B, H, W, C] = h.shape;
    const q = tf.add(tf.matMul(h.reshape([B * H * W, C]), w('c4')), b('c4')).reshape([B, H, W, 2]) as tf.Tensor4D;
    return tf.image.resizeBilinear(q, [this.P, this.P]);
  }

  /** Forward without gradients: returns [B · P · P · 2] floats. */
  predict(input: Float32Array, batch: number): Float32Array {
    return tf.tidy(() => {
      const x = tf.tensor4d(input, [batch, this.P, this.P, CRITIC_CHANNELS]);
      return this.apply(x).dataSync() as Float32Array;
    }).slice();
  }

  /**
   * One Adam step of the Huber loss on the executed pixel only (Yang et al.; VPG): for sample i,
   * the prediction at flat index `picked[i]` of its [P, P, 2] output is regressed onto `labels[i]`.
   * Returns the predictions before the step (for priorities).
   */
  train(input: Float32Array, batch: number, picked: Int32Array, labels: Float32Array): Float32Array {
    const n = this.P * this.P * 2;
    const x = tf.tensor4d(input, [batch, this.P, this.P, CRITIC_CHANNELS]);
    const sel = new Float32Array(batch * n);
    for (let i = 0; i < batch; i++) sel[i * n + picked[i]] = 1;
    const selT = tf.tensor2d(sel, [batch, n]);
    const y = tf.tensor1d(labels);
    let preds: Float32Array = new Float32Array(batch);
    const loss = this.optimizer.minimize(
      () => {
        const q = this.apply(x, true).reshape([batch, n]);
        const p = tf.sum(tf.mul(q, selT), 1);
        preds = Float32Array.from(p.dataSync());
        return tf.losses.huberLoss(y, p) as tf.Scalar;
      },
      true,
      Object.values(this.vars),
    );
    loss?.dispose();
    tf.dispose([x, selT, y]);
    return preds;
  }

  getWeights(): CriticWeights {
    const out: CriticWeights = {};
    for (const [k, v] of Object.entries(this.vars)) out[k] = { shape: v.shape, values: Array.from(v.dataSync()) };
    return out;
  }

  setWeights(w: CriticWeights): void {
    for (const [k, v] of Object.entries(this.vars)) {
      const src = w[k];
      if (!src || src.values.length !== v.size) throw new Error(`critic weights: ${k} missing or of the wrong size`);
      tf.tidy(() => v.assign(tf.tensor(src.values, v.shape)));
    }
  }

  dispose(): void {
    for (const v of Object.values(this.vars)) v.dispose();
    this.optimizer.dispose();
  }
}

/**
 * Nearest-neighbour rotation maps about the map centre. `toRotated[k][p′]` is the source pixel of
 * rotated pixel p′ (−1 outside), so that the rotated frame's +x is the world direction θ_k;
 * `toWorld[k][p]` is the rotated pixel where world pixel p lands.
 */
export class Rotations {
  readonly toRotated: Int32Array[] = [];
  readonly toWorld: Int32Array[] = [];

  constructor(
    readonly P: number,
    readonly R: number,
  ) {
    const c = (P - 1) / 2;
    for (let k = 0; k < R; k++) {
      const th = (k * 2 * Math.PI) / R;
      const cs = Math.cos(th);
      const sn = Math.sin(th);
      const fwd = new Int32Array(P * P);
      const inv = new Int32Array(P * P);
      for (let r = 0; r < P; r++) {
        for (let col = 0; col < P; col++) {
          const u = col - c;
          const v = r - c;
          // Rotated pixel (u, v) looks at world R(θ)·(u, v).
          const sx = Math.round(c + cs * u - sn * v);
          const sy = Math.round(c + sn * u + cs * v);
          fwd[r * P + col] = sx >= 0 && sy >= 0 && sx < P && sy < P ? sy * P + sx : -1;
          // World pixel (u, v) sits at rotated R(−θ)·(u, v).
          const wx = Math.round(c + cs * u + sn * v);
          const wy = Math.round(c - sn * u + cs * v);
          inv[r * P + col] = wx >= 0 && wy >= 0 && wx < P && wy < P ? wy * P + wx : -1;
        }
      }
      this.toRotated.push(fwd);
      this.toWorld.push(inv);
    }
  }

  /** Write the critic input of rotation k (height / 0.1, mask) into `out` at `offset`. */
  rotateInput(height: ArrayLike<number>, mask: ArrayLike<number>, k: number, out: Float32Array, offset: number): void {
    const m = this.toRotated[k];
    const n = this.P * this.P;
    for (let p = 0; p < n; p++) {
      const s = m[p];
      const o = offset + p * CRITIC_CHANNELS;
      if (s < 0) {
        out[o] = 0;
        out[o + 1] = 0;
      } else {
        out[o] = height[s] / 0.1;
        out[o + 1] = mask[s] > 0.5 ? 1 : 0;
      }
    }
  }
}
