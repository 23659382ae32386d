import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../src/core/rng.js';
import { weightShapes, type NetworkSpec } from '../policy/network.js';
import { blasFusesActivation, blasInUse } from './blas.js';
import { forwardKernel, groupedKernels } from './grouped-kernels.js';
import { simdKernels } from './simd.js';
import { readView, writableView } from './storage.js';

/**
 * Whether differentiated dense layers may run as one fused kernel (matMul + bias + activation)
 * with the hand-written backward below. That backward multiplies by transposed operands, which
 * XNNPACK runs ~10× slower (nn/fast-grad.ts); OpenBLAS (nn/blas.ts) and the other backends run
 * them at full speed.
 */
function fusedDenseIsFast(): boolean {
  return tf.getBackend() !== 'wasm' || blasInUse() !== null;
}

type DenseActivation = 'relu' | 'linear' | 'tanh';
const denseOps = new Map<string, (...args: tf.Tensor[]) => tf.Tensor>();

/**
 * y = act(x·W + b) as one fused kernel, with its backward written out: g = dy ⊙ 1[y > 0] (relu), dy ⊙ (1 − y²) (tanh),
 * dx = g·Wᵀ, dW = xᵀ·g, db = Σ g. 1 forward kernel and 4–5 backward ones, against 3 and ~8 when
 * autodiff goes through matMul, add and relu. `frozen` treats W and b as constants (only dx
 * flows): the actor's loss goes through the critics without computing their weight gradients.
 */
export function dense(x: tf.Tensor2D, W: tf.Tensor, b: tf.Tensor, act: DenseActivation, frozen = false): tf.Tensor2D {
  if (frozen) return frozenDense(x, W, b, act);
  let op = denseOps.get(act);
  if (!op) {
    const forward = (xIn: tf.Tensor, wIn: tf.Tensor, bIn: tf.Tensor) => fusedForward(xIn, wIn, bIn, act);
    const gate = (dy: tf.Tensor, y: tf.Tensor) => activationGrad(dy, y, act);
    op = tf.customGrad(((xIn: tf.Tensor, wIn: tf.Tensor, bIn: tf.Tensor, save: tf.GradSaveFunc) => {
      const y = forward(xIn, wIn, bIn);
      save([xIn, wIn, y]);
      return {
        value: y,
        gradFunc: (dy: tf.Tensor, [xs, ws, ys]: tf.Tensor[]) => {
          const g = gate(dy, ys);
          return [tf.matMul(g, ws, false, true), tf.matMul(xs, g, true, false), tf.sum(g, 0)];
        },
      };
    }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (...args: tf.Tensor[]) => tf.Tensor;
    denseOps.set(act, op);
  }
  return op(x, W, b) as tf.Tensor2D;
}

function fusedForward(x: tf.Tensor, W: tf.Tensor, b: tf.Tensor, act: DenseActivation): tf.Tensor {
  // tfjs's own fused kernels have no tanh: there it is a second kernel.
  const inKernel = act !== 'tanh' || blasFusesActivation('tanh', tf.getBackend());
  const y = tf.engine().runKernel('_FusedMatMul', { a: x, b: W, bias: b }, { transposeA: false, transposeB: false, activation: inKernel ? act : 'linear', leakyreluAlpha: 0 }) as tf.Tensor;
  if (inKernel) return y;
  const t = tf.tanh(y);
  y.dispose();
  return t;
}

/** ∂act/∂x · dy from the layer's output y. */
function activationGrad(dy: tf.Tensor, y: tf.Tensor, act: DenseActivation): tf.Tensor {
  if (act === 'relu') return tf.mul(dy, tf.step(y));
  if (act === 'tanh') return tf.mul(dy, tf.sub(1, tf.square(y)));
  return dy;
}

/** `dense` with W and b as constants of the op (closed over, not inputs): only dx = g·Wᵀ is computed. */
const frozenOps = new WeakMap<tf.Tensor, Map<DenseActivation, (x: tf.Tensor) => tf.Tensor>>();
function frozenDense(x: tf.Tensor2D, W: tf.Tensor, b: tf.Tensor, act: DenseActivation): tf.Tensor2D {
  let byAct = frozenOps.get(W);
  if (!byAct) frozenOps.set(W, (byAct = new Map()));
  let op = byAct.get(act);
  if (!op) {
    op = tf.customGrad(((xIn: tf.Tensor, save: tf.GradSaveFunc) => {
      const y = fusedForward(xIn, W, b, act);
      save([y]);
      return { value: y, gradFunc: (dy: tf.Tensor, [ys]: tf.Tensor[]) => tf.matMul(activationGrad(dy, ys, act), W, false, true) };
    }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor) => tf.Tensor;
    byAct.set(act, op);
  }
  return op(x) as tf.Tensor2D;
}

/**
 * A trainable network from a NetworkSpec (controllers/policy/network.ts): explicit tf.Variables
 * and a hand-written functional forward, so gradients go through plain matMul/add/relu kernels
 * (no tf.layers bookkeeping) and the same spec + weights export to the policy artifact.
 */
export type InitScheme =
  /** PyTorch nn.Linear's default, as CleanRL's SAC uses: U(±1/√fan_in) for kernel and bias. */
  | { kind: 'fan-in-uniform' }
  /** Orthogonal kernels with a gain per dense layer and zero biases, as CleanRL's PPO uses (Saxe et al. 2014). */
  | { kind: 'orthogonal'; gains: number[] };

/** Initial weights (Float32Arrays in weightShapes order) drawn from `rng`. */
export function initWeights(spec: NetworkSpec, rng: Rng, scheme: InitScheme = { kind: 'fan-in-uniform' }): Float32Array[] {
  const shapes = weightShapes(spec);
  const out: Float32Array[] = [];
  let denseIndex = 0;
  for (let i = 0; i < shapes.length; i++) {
    const s = shapes[i];
    const size = s.shape.reduce((a, b) => a * b, 1);
    if (s.name.endsWith('/kernel')) {
      const [fanIn, fanOut] = s.shape;
      if (scheme.kind === 'orthogonal') {
        const gain = scheme.gains[denseIndex] ?? scheme.gains[scheme.gains.length - 1];
        out.push(orthogonal(fanIn, fanOut, gain, rng));
        // Bias: zero.
        out.push(new Float32Array(fanOut));
      } else {
        const bound = 1 / Math.sqrt(fanIn);
        out.push(Float32Array.from({ length: size }, () => rng.uniform(-bound, bound)));
        out.push(Float32Array.from({ length: fanOut }, () => rng.uniform(-bound, bound)));
      }
      i++; // the bias was handled with its kernel
      denseIndex++;
    } else if (s.name.endsWith('/gamma')) {
      out.push(new Float32Array(size).fill(1));
      out.push(new Float32Array(size));
      i++;
    }
  }
  return out;
}

/** A [fanIn, fanOut] kernel whose smaller dimension is orthonormal (modified Gram-Schmidt on Gaussian vectors). */
function orthogonal(fanIn: number, fanOut: number, gain: number, rng: Rng): Float32Array {
  const rows = Math.max(fanIn, fanOut);
  const cols = Math.min(fanIn, fanOut);
  const q: Float64Array[] = [];
  for (let c = 0; c < cols; c++) {
    const v = Float64Array.from({ length: rows }, () => rng.normal());
    for (const u of q) {
      let dot = 0;
      for (let r = 0; r < rows; r++) dot += u[r] * v[r];
      for (let r = 0; r < rows; r++) v[r] -= dot * u[r];
    }
    let norm = 0;
    for (let r = 0; r < rows; r++) norm += v[r] * v[r];
    norm = Math.sqrt(norm);
    for (let r = 0; r < rows; r++) v[r] /= norm;
    q.push(v);
  }
  const k = new Float32Array(fanIn * fanOut);
  for (let i = 0; i < fanIn; i++) {
    for (let o = 0; o < fanOut; o++) {
      k[i * fanOut + o] = gain * (fanIn >= fanOut ? q[o][i] : q[i][o]);
    }
  }
  return k;
}

/**
 * Inverted dropout mask (values 0 or 1/(1−p)) drawn from our seeded Rng, so that resume is
 * bit-exact. The dropped positions of a Bernoulli(p) process are found by geometric gaps
 * (gap = ⌊log U / log(1−p)⌋), so a mask costs ~p·n draws instead of n: at p = 0.01 and
 * 256×256 that is ~650 draws instead of 65 536.
 */
export function dropoutMask(rng: Rng, rows: number, cols: number, rate: number): tf.Tensor2D {
  const n = rows * cols;
  const m = new Float32Array(n).fill(1 / (1 - rate));
  if (rate > 0) {
    const logKeep = Math.log(1 - rate);
    const gap = () => Math.floor(Math.log(1 - rng.next()) / logKeep);
    for (let i = gap(); i < n; i += 1 + gap()) m[i] = 0;
  }
  return tf.tensor2d(m, [rows, cols]);
}

/**
 * LayerNorm over the last axis (Ba et al. 2016), biased variance as PyTorch computes it, with a
 * hand-written backward (11 kernels instead of ~25 from autodiff through the 9 forward ops):
 * g = dy·γ, dx = (g − mean(g) − x̂·mean(g·x̂)) / √(var + ε), dγ = Σ dy·x̂, dβ = Σ dy.
 */
const layerNormOps = new Map<number, (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => tf.Tensor>();

export function layerNorm(x: tf.Tensor2D, gamma: tf.Tensor, beta: tf.Tensor, epsilon: number): tf.Tensor2D {
  let op = layerNormOps.get(epsilon);
  if (!op) {
    op = tf.customGrad(((xIn: tf.Tensor, gIn: tf.Tensor, bIn: tf.Tensor, save: tf.GradSaveFunc) => {
      const mean = tf.mean(xIn, -1, true);
      const xc = tf.sub(xIn, mean);
      const inv = tf.rsqrt(tf.add(tf.mean(tf.square(xc), -1, true), epsilon));
      const xhat = tf.mul(xc, inv);
      save([xhat, inv, gIn]);
      return {
        value: tf.add(tf.mul(xhat, gIn), bIn),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [xh, iv, g] = saved;
          const gdy = tf.mul(dy, g);
          const dx = tf.mul(tf.sub(tf.sub(gdy, tf.mean(gdy, -1, true)), tf.mul(xh, tf.mean(tf.mul(gdy, xh), -1, true))), iv);
          return [dx, tf.sum(tf.mul(dy, xh), 0), tf.sum(dy, 0)];
        },
      };
    }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => tf.Tensor;
    layerNormOps.set(epsilon, op);
  }
  return op(x, gamma, beta) as tf.Tensor2D;
}

/** LayerNorm through autodiff of its forward ops (the reference `layerNorm` is tested against). */
export function layerNormReference(x: tf.Tensor2D, gamma: tf.Tensor, beta: tf.Tensor, epsilon: number): tf.Tensor2D {
  const mean = tf.mean(x, -1, true);
  const xc = tf.sub(x, mean);
  const variance = tf.mean(tf.square(xc), -1, true);
  return tf.add(tf.mul(tf.mul(xc, tf.rsqrt(tf.add(variance, epsilon))), gamma), beta) as tf.Tensor2D;
}

function activation(x: tf.Tensor2D, fn: 'linear' | 'relu' | 'tanh'): tf.Tensor2D {
  return fn === 'relu' ? tf.relu(x) : fn === 'tanh' ? tf.tanh(x) : x;
}

export class Mlp {
  readonly vars: tf.Variable[];

  constructor(
    readonly spec: NetworkSpec,
    weights: Float32Array[],
    readonly name = 'mlp',
  ) {
    const shapes = weightShapes(spec);
    if (weights.length !== shapes.length) throw new RangeError(`${name}: expected ${shapes.length} weight tensors, got ${weights.length}`);
    this.vars = shapes.map((s, i) => {
      const initial = tf.tensor(weights[i], s.shape, 'float32');
      const v = tf.variable(initial, true, `${name}/${s.name}/${uid++}`);
      initial.dispose(); // the variable keeps its own reference to the storage
      return v;
    });
  }

  /**
   * Forward pass for a batch [N, in]. Dropout is applied only when `dropoutRng` is given
   * (training mode); without it the network is deterministic (evaluation mode). `noGrad` fuses
   * dense + bias + activation into one kernel, for passes no gradient flows through; where
   * transposed matMuls are fast, differentiated passes fuse too (`dense`), and `frozen` lets
   * gradients reach the input only (a critic inside the actor's loss).
   */
  apply(x: tf.Tensor2D, dropoutRng?: Rng | null, opts: { noGrad?: boolean; frozen?: boolean } = {}): tf.Tensor2D {
    let h = x;
    let w = 0;
    const fusedGrad = !opts.noGrad && fusedDenseIsFast();
    for (const layer of this.spec.layers) {
      if (layer.type === 'dense') {
        if (fusedGrad) {
          h = dense(h, this.vars[w], this.vars[w + 1], layer.activation, opts.frozen);
        } else if (opts.noGrad && groupedKernels()) {
          // OpenBLAS: the same sgemm calls as tf.fused.matMul's, as one kernel (no 3-D reshapes around it).
          h = forwardKernel(h, this.vars[w], this.vars[w + 1], layer.activation, true) as tf.Tensor2D;
        } else if (opts.noGrad && layer.activation !== 'tanh') {
          // One fused kernel (matMul + bias + relu). Its tfjs gradient uses transposed matMuls,
          // so only passes that are not differentiated (targets, acting) take this path.
          h = tf.fused.matMul({ a: h, b: this.vars[w] as tf.Tensor2D, bias: this.vars[w + 1], activation: layer.activation }) as tf.Tensor2D;
        } else {
          h = tf.add(tf.matMul(h, this.vars[w] as tf.Tensor2D), this.vars[w + 1]) as tf.Tensor2D;
          h = activation(h, layer.activation);
        }
        w += 2;
      } else if (layer.type === 'layerNorm') {
        h = layerNorm(h, this.vars[w], this.vars[w + 1], layer.epsilon);
        w += 2;
      } else if (layer.type === 'dropout') {
        if (dropoutRng && layer.rate > 0) h = tf.mul(h, dropoutMask(dropoutRng, h.shape[0], h.shape[1], layer.rate));
      } else {
        h = activation(h, layer.activation);
      }
    }
    return h;
  }

  /** Copies of the weights, in weightShapes order. */
  getWeights(): Float32Array[] {
    return this.vars.map((v) => (v.dataSync() as Float32Array).slice());
  }

  setWeights(weights: Float32Array[]): void {
    assignAll(this.vars, weights);
  }

  /** Copy weights from another network of the same spec (a hard target update). */
  copyFrom(other: Mlp): void {
    this.setWeights(other.getWeights());
  }

  get numParams(): number {
    return this.vars.reduce((n, v) => n + v.size, 0);
  }

  dispose(): void {
    this.vars.forEach((v) => v.dispose());
  }
}
let uid = 0;

/** Assign Float32Arrays to variables without leaking the temporary tensors. */
export function assignAll(vars: tf.Variable[], values: Float32Array[]): void {
  if (values.length !== vars.length) throw new RangeError(`assign: ${vars.length} variables, ${values.length} values`);
  vars.forEach((v, i) => {
    if (values[i].length !== v.size) throw new RangeError(`assign ${v.name}: expected ${v.size} values, got ${values[i].length}`);
    const t = tf.tensor(values[i], v.shape, 'float32');
    v.assign(t);
    t.dispose();
  });
}

/**
 * Polyak averaging θ′ ← τθ + (1−τ)θ′ (Lillicrap et al. 2016), computed in JS over the weights, in place where the
 * backend allows: one pass per variable (a GroupedMlp's stacked variables hold all members). `simd`: float32 wasm
 * SIMD on the wasm heap (nn/simd.ts), as Adam's option of that name; else float64 JS.
 */
export function softUpdate(target: { vars: tf.Variable[] }, source: { vars: tf.Variable[] }, tau: number, opts: { simd?: boolean } = {}): void {
  const k = opts.simd ? simdKernels() : null;
  target.vars.forEach((v, i) => {
    const live = writableView(v);
    const t = live ?? (v.dataSync() as Float32Array).slice();
    const s = readView(source.vars[i]) ?? (source.vars[i].dataSync() as Float32Array);
    let start = 0;
    if (k && live && s.buffer === t.buffer) {
      start = t.length & ~3;
      k.polyak(t.byteOffset, s.byteOffset, start, tau, 1 - tau);
    }
    for (let j = start; j < t.length; j++) t[j] = tau * s[j] + (1 - tau) * t[j];
    if (!live) assignAll([v], [t]);
  });
}

/** All weights of some variables as one flat array, and back. */
export function flatten(arrays: Float32Array[]): Float32Array {
  const out = new Float32Array(arrays.reduce((n, a) => n + a.length, 0));
  let off = 0;
  for (const a of arrays) {
    out.set(a, off);
    off += a.length;
  }
  return out;
}

export function unflatten(flat: Float32Array, sizes: number[]): Float32Array[] {
  const total = sizes.reduce((a, b) => a + b, 0);
  if (flat.length !== total) throw new RangeError(`unflatten: expected ${total} values, got ${flat.length}`);
  let off = 0;
  return sizes.map((n) => {
    const a = flat.slice(off, off + n);
    off += n;
    return a;
  });
}
