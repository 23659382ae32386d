import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../src/core/rng.js';
import { outputSize, weightShapes, type NetworkSpec } from '../policy/network.js';
import { denseGrad, forwardKernel, gate, gradInput, gradWeights, groupedKernels, type Act } from './grouped-kernels.js';
import { dropoutMask, layerNorm, Mlp } from './mlp.js';

/**
 * K networks of one spec evaluated side by side as one network (SAC's twin critics): the
 * activations of all members sit next to each other, [B, K·H] (member k in columns k·H…(k+1)·H),
 * each dense layer's kernels are one variable W [K, in, out] and its biases one [K·out]. A dense
 * layer is then one grouped product for every member (nn/blas.ts: one kernel, one sgemm per
 * member on strided operands), and the output [B, K·out] holds each member's outputs in its own
 * columns. The maths is each member's own MLP, exactly; only the kernels are shared.
 *
 * Why: two critics as two networks cost every kernel twice (dispatch, autodiff tape, saved
 * tensors), and the Adam and Polyak passes walk twice as many tensors.
 */
const trainOps = new Map<string, (x: tf.Tensor, W: tf.Tensor, b: tf.Tensor) => tf.Tensor>();
const frozenOps = new WeakMap<tf.Tensor, Map<string, (x: tf.Tensor) => tf.Tensor>>();

/**
 * y = act(x ⊛ W + b) for all members, with the backward written out: g = gate(dy), dx = g_k·W[k]ᵀ
 * (summed over members for a shared input), dW[k] = x_kᵀ·g_k, db = Σ_rows g. `frozen`: W and b
 * are constants (only dx flows), as `dense` in mlp.ts.
 */
export function groupedDense(x: tf.Tensor2D, W: tf.Tensor, b: tf.Tensor, act: Act, shared: boolean, frozen = false): tf.Tensor2D {
  if (!groupedKernels()) return groupedDenseOps(x, W, b, act, shared);
  const key = `${act}/${shared}`;
  if (frozen) {
    let byKey = frozenOps.get(W);
    if (!byKey) frozenOps.set(W, (byKey = new Map()));
    let op = byKey.get(key);
    if (!op) {
      op = tf.customGrad(((xIn: tf.Tensor, save: tf.GradSaveFunc) => {
        const y = forwardKernel(xIn, W, b, act, shared);
        save([y]);
        return { value: y, gradFunc: (dy: tf.Tensor, [ys]: tf.Tensor[]) => (act === 'tanh' ? gradInput(gate(dy, ys, act), W, shared) : denseGrad(dy, null, W, ys, act, shared, true)[0]) };
      }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor) => tf.Tensor;
      byKey.set(key, op);
    }
    return op(x) as tf.Tensor2D;
  }
  let op = trainOps.get(key);
  if (!op) {
    op = tf.customGrad(((xIn: tf.Tensor, wIn: tf.Tensor, bIn: tf.Tensor, save: tf.GradSaveFunc) => {
      const y = forwardKernel(xIn, wIn, bIn, act, shared);
      save([xIn, wIn, y]);
      return {
        value: y,
        gradFunc: (dy: tf.Tensor, [xs, ws, ys]: tf.Tensor[]) => {
          if (act !== 'tanh') return denseGrad(dy, xs, ws, ys, act, shared, false);
          const g = gate(dy, ys, act);
          const [dW, db] = gradWeights(xs, g, ws.shape, shared);
          return [gradInput(g, ws, shared), dW, db];
        },
      };
    }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor, W: tf.Tensor, b: tf.Tensor) => tf.Tensor;
    trainOps.set(key, op);
  }
  return op(x, W, b) as tf.Tensor2D;
}

/** The same layer in plain tfjs ops (any backend; autodiff): one matMul per member, side by side. */
export function groupedDenseOps(x: tf.Tensor2D, W: tf.Tensor, b: tf.Tensor, act: Act, shared: boolean): tf.Tensor2D {
  const [K, M, N] = W.shape;
  const ys = Array.from({ length: K }, (_, k) => {
    const xk = shared ? x : (tf.slice(x, [0, k * M], [-1, M]) as tf.Tensor2D);
    return tf.matMul(xk, tf.reshape(tf.slice(W, [k, 0, 0], [1, M, N]), [M, N]) as tf.Tensor2D);
  });
  const y = tf.add(K === 1 ? ys[0] : tf.concat(ys, 1), b) as tf.Tensor2D;
  return act === 'relu' ? tf.relu(y) : act === 'tanh' ? tf.tanh(y) : y;
}

/** Member-major weights (member 0's list in weightShapes order, then member 1's, …) ↔ the stacked variables. */
export class GroupedMlp {
  readonly vars: tf.Variable[];
  private readonly sizes: number[];
  /**
   * Without the grouped kernels at construction (no OpenBLAS, another backend), K separate `Mlp`s:
   * there one matMul per member is what the backend does fast (slicing stacked weights would copy
   * them, and tfjs-wasm's batched matMul has no fast path). `vars` is then their variables,
   * member-major, and `stack`/`unstack` are the identity.
   */
  private readonly separate: Mlp[] | null;

  constructor(
    readonly spec: NetworkSpec,
    readonly members: number,
    memberWeights: Float32Array[][],
    readonly name = 'grouped',
  ) {
    if (memberWeights.length !== members) throw new RangeError(`${name}: ${members} members, ${memberWeights.length} weight lists`);
    const shapes = weightShapes(spec);
    this.sizes = shapes.map((s) => s.shape.reduce((a, c) => a * c, 1));
    this.separate = groupedKernels() ? null : memberWeights.map((w, k) => new Mlp(spec, w, `${name}${k + 1}`));
    if (this.separate) {
      this.vars = this.separate.flatMap((m) => m.vars);
      return;
    }
    const stacked = this.stack(memberWeights.flat());
    this.vars = shapes.map((s, i) => {
      // Kernels [K, in, out]; biases, LayerNorm γ and β [K·width].
      const shape = s.shape.length === 2 ? [members, ...s.shape] : [members * s.shape[0]];
      const t = tf.tensor(stacked[i], shape, 'float32');
      const v = tf.variable(t, true, `${name}/${s.name}/${uid++}`);
      t.dispose();
      return v;
    });
  }

  /** Member-major arrays (K lists in weightShapes order, flattened) → one array per stacked variable. */
  stack(memberMajor: Float32Array[]): Float32Array[] {
    const n = this.sizes.length;
    if (memberMajor.length !== n * this.members) throw new RangeError(`${this.name}: expected ${n * this.members} arrays, got ${memberMajor.length}`);
    if (this.separate) return memberMajor;
    return this.sizes.map((size, i) => {
      const out = new Float32Array(size * this.members);
      for (let k = 0; k < this.members; k++) {
        const a = memberMajor[k * n + i];
        if (a.length !== size) throw new RangeError(`${this.name}: member ${k} tensor ${i} has ${a.length} values, expected ${size}`);
        out.set(a, k * size);
      }
      return out;
    });
  }

  /** One array per stacked variable → member-major arrays (the layout of K separate networks). */
  unstack(stacked: Float32Array[]): Float32Array[] {
    if (this.separate) return stacked;
    const out: Float32Array[] = [];
    for (let k = 0; k < this.members; k++) this.sizes.forEach((size, i) => out.push(stacked[i].slice(k * size, (k + 1) * size)));
    return out;
  }

  /**
   * Forward for a batch [B, in] (every member reads it) → [B, K·out]. Dropout only when
   * `dropoutRng` is given (one mask over all members' columns); `frozen`: gradients reach x only.
   */
  apply(x: tf.Tensor2D, dropoutRng?: Rng | null, opts: { noGrad?: boolean; frozen?: boolean } = {}): tf.Tensor2D {
    if (this.separate) {
      const outs = this.separate.map((m) => m.apply(x, dropoutRng, opts));
      return outs.length === 1 ? outs[0] : tf.concat(outs, 1);
    }
    let h = x;
    let w = 0;
    let shared = true;
    const K = this.members;
    for (const layer of this.spec.layers) {
      if (layer.type === 'dense') {
        const [W, b] = [this.vars[w], this.vars[w + 1]];
        // No gradient (targets): the forward kernel alone, without the customGrad wrapper.
        h = opts.noGrad && groupedKernels() ? (forwardKernel(h, W, b, layer.activation, shared) as tf.Tensor2D) : groupedDense(h, W, b, layer.activation, shared, opts.frozen);
        shared = false;
        w += 2;
      } else if (layer.type === 'layerNorm') {
        // Per member over its own columns: [B, K, H] with γ, β as [K, H] (broadcast over rows).
        const [B, KH] = h.shape;
        const H = KH / K;
        const y = layerNorm(tf.reshape(h, [B, K, H]) as unknown as tf.Tensor2D, tf.reshape(this.vars[w], [K, H]), tf.reshape(this.vars[w + 1], [K, H]), layer.epsilon);
        h = tf.reshape(y, [B, KH]) as tf.Tensor2D;
        w += 2;
      } else if (layer.type === 'dropout') {
        if (dropoutRng && layer.rate > 0) h = tf.mul(h, dropoutMask(dropoutRng, h.shape[0], h.shape[1], layer.rate));
      } else {
        h = layer.activation === 'relu' ? tf.relu(h) : layer.activation === 'tanh' ? tf.tanh(h) : h;
      }
    }
    return h;
  }

  /** Output width of one member. */
  get memberOutputSize(): number {
    return outputSize(this.spec);
  }

  /** Copies of the weights, member-major (as K separate networks would list them). */
  getWeights(): Float32Array[] {
    return this.unstack(this.vars.map((v) => (v.dataSync() as Float32Array).slice()));
  }

  setWeights(memberMajor: Float32Array[]): void {
    const stacked = this.stack(memberMajor);
    this.vars.forEach((v, i) => {
      const t = tf.tensor(stacked[i], v.shape, 'float32');
      v.assign(t);
      t.dispose();
    });
  }

  dispose(): void {
    this.vars.forEach((v) => v.dispose());
  }
}
let uid = 0;
