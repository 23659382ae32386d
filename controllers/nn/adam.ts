import * as tf from '@tensorflow/tfjs';
import { assignAll } from './mlp.js';
import { simdKernels, type SimdKernels } from './simd.js';
import { readView, writableView } from './storage.js';

/**
 * Adam (Kingma & Ba 2015) and AdamW (decoupled weight decay, Loshchilov & Hutter 2019), with
 * PyTorch's update order, over tf.Variables.
 *
 * Why in JS: a per-variable Adam in tfjs ops costs ~8 small kernels per tensor; on wasm the kernel
 * overhead dominates for our ~200k-parameter MLPs. Reading the gradients once, updating in a
 * tight loop and assigning once is faster, and the state (m, v, t) is plain Float32Arrays that
 * save and restore bit-exactly.
 */
export interface AdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Decoupled weight decay (AdamW); 0 gives Adam. */
  weightDecay?: number;
  /** Clip the global gradient norm to this value before the step (PPO uses 0.5). */
  maxGradNorm?: number;
  /**
   * Step in float32 arithmetic with wasm SIMD (nn/simd.ts, ~10× faster; PyTorch's CPU Adam is
   * float32 too), the moments kept in the wasm heap. Only on the wasm backend; elsewhere, and
   * when false (the default), the float64 JS loop below. The two agree to float32 rounding.
   */
  simd?: boolean;
}

export interface AdamState {
  t: number;
  m: Float32Array[];
  v: Float32Array[];
}

export class Adam {
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly maxGradNorm: number | undefined;
  private t = 0;
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];
  /** With `simd`: the kernels, and each moment's byte offset in the wasm heap (m, v above are then unused). */
  private readonly heap: { k: SimdKernels; m: number[]; v: number[] } | null = null;

  constructor(
    readonly vars: tf.Variable[],
    opts: AdamOptions,
  ) {
    this.lr = opts.lr;
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0;
    this.maxGradNorm = opts.maxGradNorm;
    const k = opts.simd ? simdKernels() : null;
    if (k) this.heap = { k, m: vars.map((v) => k.alloc(v.size)), v: vars.map((v) => k.alloc(v.size)) };
    this.m = this.heap ? [] : vars.map((v) => new Float32Array(v.size));
    this.v = this.heap ? [] : vars.map((v) => new Float32Array(v.size));
  }

  /** The moments of variable k (views into the wasm heap with `simd`: take them anew after any allocation). */
  private moments(k: number): [Float32Array, Float32Array] {
    if (!this.heap) return [this.m[k], this.v[k]];
    const n = this.vars[k].size;
    return [this.heap.k.view(this.heap.m[k], n), this.heap.k.view(this.heap.v[k], n)];
  }

  /**
   * One step. `grads[i]` is the gradient of `vars[i]` (tensors or arrays; tensors are read, not
   * disposed). Returns the global gradient norm before clipping.
   */
  step(grads: (tf.Tensor | Float32Array)[]): number {
    if (grads.length !== this.vars.length) throw new RangeError(`Adam: ${this.vars.length} variables, ${grads.length} gradients`);
    // Gradients are read in place where the backend allows (views are taken again per tensor
    // below, since the copying fallback allocates and may move the wasm heap).
    const gradValues = (k: number): Float32Array => {
      const x = grads[k];
      return x instanceof Float32Array ? x : (readView(x) ?? (x.dataSync() as Float32Array));
    };
    let sq = 0;
    for (let k = 0; k < grads.length; k++) {
      const a = gradValues(k);
      let i = 0;
      if (this.heap && a.buffer === this.heap.k.view(0, 0).buffer) {
        // SIMD over the first multiple of 4 (four float32 lanes), JS for the rest.
        i = a.length & ~3;
        sq += this.heap.k.sumSquares(a.byteOffset, i);
      }
      for (; i < a.length; i++) sq += a[i] * a[i];
    }
    const norm = Math.sqrt(sq);
    const clip = this.maxGradNorm !== undefined && norm > this.maxGradNorm ? this.maxGradNorm / (norm + 1e-6) : 1;
    this.t += 1;
    const { beta1: b1, beta2: b2, eps, lr } = this;
    const bc1 = 1 - b1 ** this.t;
    const invSqrtBc2 = 1 / Math.sqrt(1 - b2 ** this.t);
    const stepSize = lr / bc1;
    const decay = 1 - lr * this.weightDecay;
    const c1 = 1 - b1;
    const c2 = 1 - b2;
    const update = (p: Float32Array, k: number) => {
      const gk = gradValues(k);
      const n = p.length;
      if (this.weightDecay) for (let i = 0; i < n; i++) p[i] *= decay;
      // SIMD over the first multiple of 4 (in place in the heap), the JS loop for the rest.
      let start = 0;
      if (this.heap && p.buffer === gk.buffer) {
        start = n & ~3;
        this.heap.k.adam(p.byteOffset, gk.byteOffset, this.heap.m[k], this.heap.v[k], start, b1, c1, b2, c2, stepSize, invSqrtBc2, eps, clip);
      }
      const [m, v] = this.moments(k);
      for (let i = start; i < n; i++) {
        const gi = gk[i] * clip;
        // PyTorch: p −= (lr / bc1) · m / (√v / √bc2 + ε), with m and v as stored (float32).
        const mi = Math.fround(b1 * m[i] + c1 * gi);
        const vi = Math.fround(b2 * v[i] + c2 * gi * gi);
        m[i] = mi;
        v[i] = vi;
        p[i] -= (stepSize * mi) / (Math.sqrt(vi) * invSqrtBc2 + eps);
      }
    };
    this.vars.forEach((variable, k) => {
      // In place when the variable owns its storage (wasm, cpu); else copy, update, assign.
      const live = writableView(variable);
      if (live) return update(live, k);
      const p = (variable.dataSync() as Float32Array).slice();
      update(p, k);
      assignAll([variable], [p]);
    });
    return norm;
  }

  /** Give back the moments' wasm heap memory (`simd`); the optimiser is not used after this. */
  dispose(): void {
    if (!this.heap) return;
    [...this.heap.m, ...this.heap.v].forEach((off) => this.heap!.k.free(off));
    this.heap.m.length = 0;
    this.heap.v.length = 0;
  }

  getState(): AdamState {
    const mv = this.vars.map((_, k) => this.moments(k));
    return { t: this.t, m: mv.map(([m]) => m.slice()), v: mv.map(([, v]) => v.slice()) };
  }

  setState(s: AdamState): void {
    if (s.m.length !== this.vars.length || s.v.length !== this.vars.length) throw new RangeError('Adam.setState: state has a different number of tensors');
    this.t = s.t;
    this.vars.forEach((_, k) => {
      const [m, v] = this.moments(k);
      m.set(s.m[k]);
      v.set(s.v[k]);
    });
  }
}

/** Adam for one scalar parameter kept in JS (SAC's log α). Same update as Adam above. */
export class ScalarAdam {
  private t = 0;
  private m = 0;
  private v = 0;
  constructor(
    public value: number,
    public lr: number,
    readonly beta1 = 0.9,
    readonly beta2 = 0.999,
    readonly eps = 1e-8,
  ) {}

  step(grad: number): number {
    this.t += 1;
    // Keep the same float32 rounding a tensor parameter would have.
    this.m = Math.fround(this.beta1 * this.m + (1 - this.beta1) * grad);
    this.v = Math.fround(this.beta2 * this.v + (1 - this.beta2) * grad * grad);
    const bc1 = 1 - this.beta1 ** this.t;
    const sqrtBc2 = Math.sqrt(1 - this.beta2 ** this.t);
    this.value = Math.fround(this.value - (this.lr / bc1) * (this.m / (Math.sqrt(this.v) / sqrtBc2 + this.eps)));
    return this.value;
  }

  getState() {
    return { t: this.t, m: this.m, v: this.v, value: this.value };
  }

  setState(s: { t: number; m: number; v: number; value: number }): void {
    this.t = s.t;
    this.m = s.m;
    this.v = s.v;
    this.value = s.value;
  }
}
