import { createRequire } from 'node:module';
import type * as tfTypes from '@tensorflow/tfjs';

/**
 * matMul through the system's OpenBLAS (`cblas_sgemm`, called with koffi) on the wasm backend.
 *
 * Why: tfjs-wasm's XNNPACK matMul runs 256×256×256 in ~1.1 ms on one thread (~30 GFLOP/s, 128-bit
 * wasm SIMD); OpenBLAS does it in ~0.45 ms (AVX-512) and handles transposed operands at full
 * speed. A SAC update is ~16 such products. The kernels below read and write the wasm heap in
 * place (no copies): the operands are tfjs tensors like any other, so autodiff, tidy and dispose
 * are untouched. Cases they do not cover (non-float32, odd broadcasts, prelu) go to tfjs's own.
 *
 * Found when `libopenblas.so.0` loads (Debian: `apt-get install libopenblas0-pthread`); otherwise
 * nothing changes. OpenBLAS is run on `threads` threads (1 by default: one learner per core).
 */
type Sgemm = (
  order: number,
  transA: number,
  transB: number,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: Float32Array,
  lda: number,
  b: Float32Array,
  ldb: number,
  beta: number,
  c: Float32Array,
  ldc: number,
) => void;

const ROW_MAJOR = 101;
const NO_TRANS = 111;
const TRANS = 112;
const LIBRARY_NAMES = ['libopenblas.so.0', 'libopenblas.so', 'libopenblas.dylib', 'libopenblas.dll'];

export interface BlasInfo {
  library: string;
  threads: number;
  config: string;
}

let sgemm: Sgemm | null = null;
let ones = new Float32Array(1024).fill(1);
let info: BlasInfo | null = null;

/** Load OpenBLAS once; null (with the reason) when it or koffi is missing. */
export function loadOpenBlas(threads = 1): { ok: true; info: BlasInfo } | { ok: false; reason: string } {
  if (info && sgemm) return { ok: true, info };
  let koffi: typeof import('koffi');
  try {
    koffi = createRequire(import.meta.url)('koffi');
  } catch (err) {
    return { ok: false, reason: `koffi did not load (${(err as Error).message.split('\n')[0]})` };
  }
  const errors: string[] = [];
  for (const name of LIBRARY_NAMES) {
    try {
      const lib = koffi.load(name);
      sgemm = lib.func('void cblas_sgemm(int, int, int, int, int, int, float, const float *, int, const float *, int, float, float *, int)') as unknown as Sgemm;
      const setThreads = lib.func('void openblas_set_num_threads(int)') as unknown as (n: number) => void;
      const getConfig = lib.func('const char *openblas_get_config()') as unknown as () => string;
      setThreads(threads);
      info = { library: name, threads, config: getConfig() };
      return { ok: true, info };
    } catch (err) {
      errors.push(`${name}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  return { ok: false, reason: `OpenBLAS not found (${errors.join('; ')})` };
}

interface WasmTensorInfo {
  dataId: object;
  shape: number[];
  dtype: string;
}
interface WasmBackendLike {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { get(id: object): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: string): WasmTensorInfo;
  disposeData(dataId: object): boolean;
}
type KernelArgs = { inputs: Record<string, WasmTensorInfo | undefined>; backend: WasmBackendLike; attrs: Record<string, unknown> };

/**
 * C = op(A)·op(B) for every batch entry, written into a new wasm tensor; null when the shapes are
 * outside what this handles (the caller then uses tfjs's kernel).
 */
function blasBatchMatMul(backend: WasmBackendLike, a: WasmTensorInfo, b: WasmTensorInfo, transposeA: boolean, transposeB: boolean, bias?: WasmTensorInfo): WasmTensorInfo | null {
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) return null;
  const ra = a.shape.length;
  const rb = b.shape.length;
  const M = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const K = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const Kb = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
  const N = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (K !== Kb) return null;
  const batchA = a.shape.slice(0, -2);
  const batchB = b.shape.slice(0, -2);
  const nA = batchA.reduce((x, y) => x * y, 1);
  const nB = batchB.reduce((x, y) => x * y, 1);
  // Equal batch shapes, or one side without batch (broadcast): all our uses.
  const sameBatch = batchA.length === batchB.length && batchA.every((d, i) => d === batchB[i]);
  if (!sameBatch && nA !== 1 && nB !== 1) return null;
  const batchDims = nA >= nB ? batchA : batchB;
  const nBatch = Math.max(nA, nB);
  const out = backend.makeOutput([...batchDims, M, N], 'float32');
  if (M * N === 0) return out;
  // Views after makeOutput: an allocation may have grown (and replaced) the wasm memory.
  const heap = new Float32Array(backend.wasm.HEAPU8.buffer);
  const aOff = backend.dataIdMap.get(a.dataId).memoryOffset >>> 2;
  const bOff = backend.dataIdMap.get(b.dataId).memoryOffset >>> 2;
  const cOff = backend.dataIdMap.get(out.dataId).memoryOffset >>> 2;
  const lda = transposeA ? M : K;
  const ldb = transposeB ? K : N;
  // A rank-1 bias: C = 1·biasᵀ first (an outer product, K = 1), then the product added on (β = 1).
  if (bias) {
    const rows = nBatch * M;
    if (ones.length < rows) ones = new Float32Array(rows).fill(1);
    const bo = backend.dataIdMap.get(bias.dataId).memoryOffset >>> 2;
    sgemm!(ROW_MAJOR, NO_TRANS, NO_TRANS, rows, N, 1, 1, ones, 1, heap.subarray(bo, bo + N), N, 0, heap.subarray(cOff, cOff + rows * N), N);
  }
  for (let i = 0; i < nBatch; i++) {
    const ai = aOff + (nA === 1 ? 0 : i) * M * K;
    const bi = bOff + (nB === 1 ? 0 : i) * K * N;
    const ci = cOff + i * M * N;
    sgemm!(
      ROW_MAJOR,
      transposeA ? TRANS : NO_TRANS,
      transposeB ? TRANS : NO_TRANS,
      M,
      N,
      K,
      1,
      heap.subarray(ai, ai + M * K),
      lda,
      heap.subarray(bi, bi + K * N),
      ldb,
      bias ? 1 : 0,
      heap.subarray(ci, ci + M * N),
      N,
    );
  }
  return out;
}

/**
 * Grouped products: K networks of one shape side by side (SAC's twin critics). Member k's
 * activations are the columns [k·M, (k+1)·M) of x [B, K·M], or all of a shared x [B, M] (a first
 * layer, every member reading the same input); its kernel is W[k] of W [K, M, N]; its outputs the
 * columns [k·N, (k+1)·N) of y [B, K·N]. One sgemm per member on strided operands (lda = K·M), no
 * copies, one kernel dispatch for all members.
 */
function groupedShapes(x: WasmTensorInfo, w: WasmTensorInfo, shared: boolean) {
  if (x.dtype !== 'float32' || w.dtype !== 'float32' || x.shape.length !== 2 || (w.shape.length !== 3 && w.shape.length !== 2)) throw new Error(`grouped matMul: x [B, K·M] and W [K, M, N] (or [M, N]) float32, got ${x.shape} and ${w.shape}`);
  const [K, M, N] = w.shape.length === 3 ? w.shape : [1, ...w.shape];
  const B = x.shape[0];
  if (x.shape[1] !== (shared ? M : K * M)) throw new Error(`grouped matMul: x has ${x.shape[1]} columns, W [${w.shape}] wants ${shared ? M : K * M}`);
  return { K, M, N, B, ldx: shared ? M : K * M };
}

/** y = x ⊛ W (+ bias [K·N]), [B, K·N]. */
function groupedForward(backend: WasmBackendLike, x: WasmTensorInfo, w: WasmTensorInfo, bias: WasmTensorInfo | undefined, shared: boolean): WasmTensorInfo {
  const { K, M, N, B, ldx } = groupedShapes(x, w, shared);
  const out = backend.makeOutput([B, K * N], 'float32');
  const heap = new Float32Array(backend.wasm.HEAPU8.buffer);
  const xo = offsetOf(backend, x);
  const wo = offsetOf(backend, w);
  const yo = offsetOf(backend, out);
  if (bias) {
    if (ones.length < B) ones = new Float32Array(B).fill(1);
    const bo = offsetOf(backend, bias);
    sgemm!(ROW_MAJOR, NO_TRANS, NO_TRANS, B, K * N, 1, 1, ones, 1, heap.subarray(bo, bo + K * N), K * N, 0, heap.subarray(yo, yo + B * K * N), K * N);
  }
  for (let k = 0; k < K; k++) {
    const xk = xo + (shared ? 0 : k * M);
    sgemm!(ROW_MAJOR, NO_TRANS, NO_TRANS, B, N, M, 1, heap.subarray(xk, xk + (B - 1) * ldx + M), ldx, heap.subarray(wo + k * M * N, wo + (k + 1) * M * N), N, bias ? 1 : 0, heap.subarray(yo + k * N, yo + (B - 1) * K * N + (k + 1) * N), K * N);
  }
  return out;
}

/** ∂L/∂x from g = ∂L/∂(xW+b) [B, K·N]: g_k·W[k]ᵀ per member, summed over members when x is shared. */
function groupedGradInput(backend: WasmBackendLike, g: WasmTensorInfo, w: WasmTensorInfo, shared: boolean): WasmTensorInfo {
  const [K, M, N] = w.shape.length === 3 ? w.shape : [1, ...w.shape];
  const B = g.shape[0];
  const ldx = shared ? M : K * M;
  const out = backend.makeOutput([B, ldx], 'float32');
  const heap = new Float32Array(backend.wasm.HEAPU8.buffer);
  const go = offsetOf(backend, g);
  const wo = offsetOf(backend, w);
  const xo = offsetOf(backend, out);
  for (let k = 0; k < K; k++) {
    const xk = xo + (shared ? 0 : k * M);
    sgemm!(ROW_MAJOR, NO_TRANS, TRANS, B, M, N, 1, heap.subarray(go + k * N, go + (B - 1) * K * N + (k + 1) * N), K * N, heap.subarray(wo + k * M * N, wo + (k + 1) * M * N), N, shared && k > 0 ? 1 : 0, heap.subarray(xk, xk + (B - 1) * ldx + M), ldx);
  }
  return out;
}

/**
 * ∂L/∂W = x_kᵀ·g_k per member, shaped `weightShape` ([K, M, N], or [M, N] for one plain layer),
 * and ∂L/∂b = 1ᵀ·g [K·N] (one product for all members; tfjs's Sum over rows transposes first).
 */
function groupedGradWeights(backend: WasmBackendLike, x: WasmTensorInfo, g: WasmTensorInfo, weightShape: number[], shared: boolean): WasmTensorInfo[] {
  const K = weightShape.length === 3 ? weightShape[0] : 1;
  const B = x.shape[0];
  const M = shared ? x.shape[1] : x.shape[1] / K;
  const N = g.shape[1] / K;
  const ldx = x.shape[1];
  const out = backend.makeOutput(weightShape, 'float32');
  const db = backend.makeOutput([K * N], 'float32');
  const heap = new Float32Array(backend.wasm.HEAPU8.buffer);
  const xo = offsetOf(backend, x);
  const go = offsetOf(backend, g);
  const wo = offsetOf(backend, out);
  const bo = offsetOf(backend, db);
  if (ones.length < B) ones = new Float32Array(B).fill(1);
  sgemm!(ROW_MAJOR, NO_TRANS, NO_TRANS, 1, K * N, B, 1, ones, B, heap.subarray(go, go + B * K * N), K * N, 0, heap.subarray(bo, bo + K * N), K * N);
  for (let k = 0; k < K; k++) {
    const xk = xo + (shared ? 0 : k * M);
    sgemm!(ROW_MAJOR, TRANS, NO_TRANS, M, N, B, 1, heap.subarray(xk, xk + (B - 1) * ldx + M), ldx, heap.subarray(go + k * N, go + (B - 1) * K * N + (k + 1) * N), K * N, 0, heap.subarray(wo + k * M * N, wo + (k + 1) * M * N), N);
  }
  return [out, db];
}

const offsetOf = (backend: WasmBackendLike, t: WasmTensorInfo) => backend.dataIdMap.get(t.dataId).memoryOffset >>> 2;

/** The grouped kernels' names (registered on wasm with the OpenBLAS matMul; see `nn/grouped-dense.ts`). */
export const GROUPED_KERNELS = { forward: 'EmbodyGroupedMatMul', gradInput: 'EmbodyGroupedMatMulGradInput', gradWeights: 'EmbodyGroupedMatMulGradWeights', denseGrad: 'EmbodyGroupedDenseGrad' } as const;

/** Fused activations that tfjs-wasm has as kernels of their own (applied after the product). */
const ACTIVATION_KERNELS: Record<string, string | null> = { linear: null, relu: 'Relu', relu6: 'Relu6', sigmoid: 'Sigmoid', elu: 'Elu', tanh: 'Tanh' };

/** Whether `_FusedMatMul` here takes this activation (tanh too, which tfjs's own fused kernels lack). */
export function blasFusesActivation(activation: string, backend: string): boolean {
  // The kernels are wasm's: on another backend (a test switching to cpu or webgpu) tfjs's own run.
  return installed !== null && backend === 'wasm' && activation in ACTIVATION_KERNELS;
}
let installed: { batch: tfTypes.KernelConfig; fused: tfTypes.KernelConfig } | null = null;

/**
 * Swap the wasm backend's BatchMatMul and _FusedMatMul kernels for OpenBLAS ones. Returns false
 * (and changes nothing) when the backend in use is not wasm or OpenBLAS did not load.
 */
export function useBlasMatMul(tf: typeof tfTypes, threads = 1): { ok: true; info: BlasInfo } | { ok: false; reason: string } {
  if (tf.getBackend() !== 'wasm') return { ok: false, reason: `backend is ${tf.getBackend()}, not wasm` };
  const loaded = loadOpenBlas(threads);
  if (!loaded.ok || installed) return loaded;
  const batch = tf.getKernel('BatchMatMul', 'wasm');
  const fused = tf.getKernel('_FusedMatMul', 'wasm');
  if (!batch || !fused) return { ok: false, reason: 'wasm matMul kernels not registered' };
  const fallback = (k: tfTypes.KernelConfig, args: KernelArgs) => k.kernelFunc(args as unknown as Parameters<tfTypes.KernelFunc>[0]);
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.unregisterKernel('_FusedMatMul', 'wasm');
  tf.registerKernel({
    kernelName: 'BatchMatMul',
    backendName: 'wasm',
    kernelFunc: ((args: KernelArgs) => {
      const { a, b } = args.inputs;
      const out = blasBatchMatMul(args.backend, a!, b!, !!args.attrs.transposeA, !!args.attrs.transposeB);
      return out ?? fallback(batch, args);
    }) as unknown as tfTypes.KernelFunc,
  });
  tf.registerKernel({
    kernelName: '_FusedMatMul',
    backendName: 'wasm',
    kernelFunc: ((args: KernelArgs) => {
      const { a, b, bias, preluActivationWeights } = args.inputs;
      const activation = String(args.attrs.activation ?? 'linear');
      const transposeB = !!args.attrs.transposeB;
      const n = b!.shape[b!.shape.length - (transposeB ? 2 : 1)];
      if (preluActivationWeights || !(activation in ACTIVATION_KERNELS) || (bias && (bias.shape.length !== 1 || bias.shape[0] !== n))) return fallback(fused, args);
      const out = blasBatchMatMul(args.backend, a!, b!, !!args.attrs.transposeA, transposeB, bias);
      if (!out) return fallback(fused, args);
      const kernel = ACTIVATION_KERNELS[activation];
      if (!kernel) return out;
      // The activation by the wasm kernel (a JS loop over the wasm heap is ~7× slower here).
      const activated = tf.getKernel(kernel, 'wasm')!.kernelFunc({ inputs: { x: out }, backend: args.backend, attrs: {} } as unknown as Parameters<tfTypes.KernelFunc>[0]) as WasmTensorInfo;
      args.backend.disposeData(out.dataId);
      return activated;
    }) as unknown as tfTypes.KernelFunc,
  });
  const activate = (backend: WasmBackendLike, out: WasmTensorInfo, activation: string): WasmTensorInfo => {
    const kernel = ACTIVATION_KERNELS[activation];
    if (!kernel) return out;
    // The activation by the wasm kernel (a JS loop over the wasm heap is ~7× slower here).
    const activated = tf.getKernel(kernel, 'wasm')!.kernelFunc({ inputs: { x: out }, backend, attrs: {} } as unknown as Parameters<tfTypes.KernelFunc>[0]) as WasmTensorInfo;
    backend.disposeData(out.dataId);
    return activated;
  };
  if (!tf.getKernel(GROUPED_KERNELS.forward, 'wasm')) {
    const attr = (args: KernelArgs) => ({ shared: !!args.attrs.sharedInput, activation: String(args.attrs.activation ?? 'linear') });
    tf.registerKernel({
      kernelName: GROUPED_KERNELS.forward,
      backendName: 'wasm',
      kernelFunc: ((args: KernelArgs) => {
        const { shared, activation } = attr(args);
        if (!(activation in ACTIVATION_KERNELS)) throw new Error(`grouped matMul: activation ${activation} not supported`);
        return activate(args.backend, groupedForward(args.backend, args.inputs.x!, args.inputs.w!, args.inputs.bias, shared), activation);
      }) as unknown as tfTypes.KernelFunc,
    });
    tf.registerKernel({
      kernelName: GROUPED_KERNELS.gradInput,
      backendName: 'wasm',
      kernelFunc: ((args: KernelArgs) => groupedGradInput(args.backend, args.inputs.g!, args.inputs.w!, attr(args).shared)) as unknown as tfTypes.KernelFunc,
    });
    tf.registerKernel({
      kernelName: GROUPED_KERNELS.gradWeights,
      backendName: 'wasm',
      kernelFunc: ((args: KernelArgs) => groupedGradWeights(args.backend, args.inputs.x!, args.inputs.g!, args.attrs.weightShape as number[], attr(args).shared)) as unknown as tfTypes.KernelFunc,
    });
    // A layer's whole backward in one kernel: g = dy ⊙ 1[y > 0] (relu; by the wasm Step and Multiply
    // kernels, called directly) or dy (linear), then [∂x] (frozen) or [∂x, ∂W, ∂b]. One dispatch
    // and one tape-free call instead of five engine kernels.
    const call = (name: string, backend: WasmBackendLike, inputs: Record<string, WasmTensorInfo>, attrs: Record<string, unknown> = {}) =>
      tf.getKernel(name, 'wasm')!.kernelFunc({ inputs, backend, attrs } as unknown as Parameters<tfTypes.KernelFunc>[0]) as WasmTensorInfo;
    tf.registerKernel({
      kernelName: GROUPED_KERNELS.denseGrad,
      backendName: 'wasm',
      kernelFunc: ((args: KernelArgs) => {
        const { dy, x, w, y } = args.inputs;
        const { shared, activation } = attr(args);
        const backend = args.backend;
        let g = dy!;
        if (activation === 'relu') {
          const step = call('Step', backend, { x: y! }, { alpha: 0 });
          g = call('Multiply', backend, { a: dy!, b: step });
          backend.disposeData(step.dataId);
        } else if (activation !== 'linear') throw new Error(`grouped dense gradient: activation ${activation} not supported`);
        const out = [groupedGradInput(backend, g, w!, shared)];
        if (!args.attrs.frozen) out.push(...groupedGradWeights(backend, x!, g, w!.shape, shared));
        if (g !== dy) backend.disposeData(g.dataId);
        return out;
      }) as unknown as tfTypes.KernelFunc,
    });
  }
  installed = { batch, fused };
  return loaded;
}

/** Put tfjs's own wasm matMul kernels back (the bench uses it for its XNNPACK row). */
export function useWasmMatMul(tf: typeof tfTypes): void {
  if (!installed) return;
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.unregisterKernel('_FusedMatMul', 'wasm');
  tf.registerKernel(installed.batch);
  tf.registerKernel(installed.fused);
  installed = null;
}

export function blasInUse(): BlasInfo | null {
  return installed ? info : null;
}
