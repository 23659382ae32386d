import { createRequire } from 'node:module';
import path from 'node:path';
import type * as tfTypes from '@tensorflow/tfjs';
import { NotFoundError } from '../src/core/errors.js';
import { useBlasMatMul, type BlasInfo } from './nn/blas.js';
import { useStockMatMulGrad, useTransposeFreeMatMulGrad } from './nn/fast-grad.js';
import { useSharedIdentity, useSharedSaves } from './nn/wasm-identity.js';
import { dawnGpu, probeWebGpuAdapter, type WebGpuAdapterInfo } from './gpu-probe.js';
import { captureDawnTicks, installSyncRead } from './webgpu-sync-read.js';

/**
 * TensorFlow.js backend selection (DESIGN.md "Backends"): tfjs-node-gpu → webgpu → tfjs-node →
 * wasm → cpu, the first that loads unless a name is given. The two native ones are
 * optionalDependencies whose install downloads libtensorflow; on offline machines npm skips them.
 * webgpu (tfjs-backend-webgpu on dawn.node, both optional too) installs offline, and Dawn drives
 * the Vulkan driver: on NVIDIA/AMD that is the GPU. A software adapter (llvmpipe) is never
 * auto-selected, because there it is slower than wasm; naming it (`--backend webgpu`) forces it.
 *
 * Every learner calls `initBackend` once, and every run records `report.backend`.
 */
export const BACKEND_ORDER = ['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_ORDER)[number];

/** Also accepted on the command line. */
const ALIASES: Record<string, BackendName> = {
  'tfjs-node-gpu': 'tensorflow-gpu',
  gpu: 'tensorflow-gpu',
  'tfjs-node': 'tensorflow',
  node: 'tensorflow',
  tensorflow: 'tensorflow',
  'tensorflow-gpu': 'tensorflow-gpu',
  webgpu: 'webgpu',
  'tfjs-backend-webgpu': 'webgpu',
  wasm: 'wasm',
  cpu: 'cpu',
};

export interface BackendAttempt {
  name: BackendName;
  ok: boolean;
  /** Why it did not load (the error's first line), when it did not. */
  error?: string;
}

export interface BackendReport {
  /** The tfjs backend in use: "tensorflow" (tfjs-node or -gpu), "webgpu", "wasm" or "cpu". */
  backend: string;
  /** The name we asked for, e.g. "tensorflow-gpu" (registers as "tensorflow"). */
  selected: BackendName;
  attempts: BackendAttempt[];
  /** wasm only: threads in the wasm thread pool (1 when the threaded binary is not used). */
  threads?: number;
  simd?: boolean;
  multithread?: boolean;
  tfjsVersion: string;
  /** webgpu only: the adapter it runs on. */
  adapter?: WebGpuAdapterInfo;
  /** wasm only: OpenBLAS matMul kernels in use (nn/blas.ts), or why not. */
  blas?: BlasInfo | { unavailable: string };
  /** Optimisations switched on for this backend (see nn/fast-grad.ts, nn/blas.ts). */
  notes: string[];
}

let current: BackendReport | null = null;
let tfModule: typeof tfTypes | null = null;

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n').find((l) => l.trim())?.trim().slice(0, 300) ?? 'unknown error';
}

export function normalizeBackendName(name: string): BackendName {
  const n = ALIASES[name.toLowerCase()];
  if (!n) throw new NotFoundError(`unknown backend "${name}". Known: ${Object.keys(ALIASES).join(', ')}`);
  return n;
}

/**
 * Put dawn.node's GPU where tfjs-backend-webgpu looks for it (navigator.gpu, and the GPU* enums
 * as globals, as in a browser), then register and start the backend. `forced`: use a software
 * adapter too (tests); otherwise refuse it with the reason, which doctor prints.
 */
async function loadWebGpu(tf: typeof tfTypes, forced: boolean): Promise<WebGpuAdapterInfo> {
  const adapter = await probeWebGpuAdapter();
  if (adapter.software && !forced) {
    throw new Error(`software adapter, not auto-selected (${adapter.description || adapter.device}: ${adapter.softwareReason}); --backend webgpu forces it`);
  }
  // Before tfjs requests its device: from then on Dawn's event pumping can be driven by readSync.
  captureDawnTicks();
  const { gpu, globals } = await dawnGpu();
  for (const [k, v] of Object.entries(globals)) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true, writable: true });
  if (!g.navigator!.gpu) Object.defineProperty(g.navigator!, 'gpu', { value: gpu, configurable: true });
  // The package registers its backend on import, only if navigator.gpu exists by then.
  await import('@tensorflow/tfjs-backend-webgpu' as string);
  if (!tf.findBackendFactory('webgpu')) throw new Error('tfjs-backend-webgpu imported but registered no "webgpu" backend');
  if (!(await tf.setBackend('webgpu'))) throw new Error('the webgpu backend did not initialise (see the Dawn messages above)');
  installSyncRead(tf.backend(), (data, dtype) => tf.util.convertBackendValuesAndArrayBuffer(data, dtype as tfTypes.DataType));
  return adapter;
}

async function tryLoad(tf: typeof tfTypes, name: BackendName, threads?: number): Promise<void> {
  if (name === 'tensorflow-gpu' || name === 'tensorflow') {
    // The native bindings register the "tensorflow" backend on import (they need libtensorflow).
    await import(name === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : ('@tensorflow/tfjs-node' as string));
    if (!(await tf.setBackend('tensorflow'))) throw new Error('tfjs-node imported but the "tensorflow" backend did not initialise');
    return;
  }
  if (name === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // In Node the .wasm files sit beside the package's dist; point there explicitly so a bundler or
    // a different working directory cannot break the lookup.
    const require = createRequire(import.meta.url);
    const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    wasm.setWasmPaths(dist + path.sep);
    if (threads !== undefined) wasm.setThreadsCount(threads);
    if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not initialise');
    return;
  }
  if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend did not initialise');
}

/**
 * Load a backend: `name` forces one (failing loudly if it does not load); otherwise the first
 * of BACKEND_ORDER that loads. Idempotent: a second call returns the first report.
 */
export async function initBackend(name?: string, options: { threads?: number; blas?: boolean; blasThreads?: number } = {}): Promise<BackendReport> {
  if (current && (!name || normalizeBackendName(name) === current.selected)) return current;
  const tf = await getTf();
  const order: BackendName[] = name ? [normalizeBackendName(name)] : [...BACKEND_ORDER];
  const attempts: BackendAttempt[] = [];
  for (const candidate of order) {
    try {
      const adapter = candidate === 'webgpu' ? await loadWebGpu(tf, Boolean(name)) : undefined;
      if (candidate !== 'webgpu') await tryLoad(tf, candidate, options.threads);
      await tf.ready();
      attempts.push({ name: candidate, ok: true });
      const report: BackendReport = {
        backend: tf.getBackend(),
        selected: candidate,
        attempts,
        tfjsVersion: tf.version.tfjs,
        notes: [],
      };
      if (adapter) {
        report.adapter = adapter;
        report.notes.push(`adapter: ${adapter.description || adapter.device} (${adapter.software ? `software: ${adapter.softwareReason}; forced` : 'hardware'})`);
        report.notes.push('dataSync reads through a staging buffer and Dawn event pumping (webgpu-sync-read.ts)');
      }
      if (candidate === 'wasm') {
        const wasm = await import('@tensorflow/tfjs-backend-wasm');
        report.threads = wasm.getThreadsCount();
        report.simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT') as boolean;
        report.multithread = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT') as boolean;
        // OpenBLAS, when the system has it, runs matMul ~2.4× faster than XNNPACK, transposed
        // operands included (nn/blas.ts).
        if (useSharedIdentity(tf)) report.notes.push('Identity shares storage instead of copying (nn/wasm-identity.ts)');
        if (useSharedSaves(tf)) report.notes.push('tensors kept for gradients are shared references, not Identity kernels (nn/wasm-identity.ts)');
        const blas = options.blas === false ? { ok: false as const, reason: 'switched off' } : useBlasMatMul(tf, options.blasThreads ?? 1);
        report.blas = blas.ok ? blas.info : { unavailable: blas.reason };
        if (blas.ok) {
          report.notes.push(`matMul via OpenBLAS cblas_sgemm, ${blas.info.threads} thread(s) (nn/blas.ts)`);
          // OpenBLAS takes transposed operands at no cost: tfjs's own gradient is the cheaper one.
          useStockMatMulGrad(tf);
        } else {
          // XNNPACK's matMul with a transposed operand is ~10× slower than without; tfjs's own
          // matMul gradient uses transposed operands. Swap in one that transposes explicitly.
          useTransposeFreeMatMulGrad(tf);
          report.notes.push('matMul gradients use explicit transposes (nn/fast-grad.ts)');
        }
      } else {
        // Elsewhere a transposed operand is free (a stride in the kernel), and the explicit
        // transposes would only add kernels: keep tfjs's own gradient.
        useStockMatMulGrad(tf);
      }
      current = report;
      return report;
    } catch (err) {
      attempts.push({ name: candidate, ok: false, error: firstLine(err) });
    }
  }
  const why = attempts.map((a) => `${a.name}: ${a.error}`).join('; ');
  throw new NotFoundError(`no TensorFlow.js backend loaded (${why})`);
}

/** The report of the backend in use, or null before initBackend. */
export function backendReport(): BackendReport | null {
  return current;
}

/** The tfjs module (imported lazily so that scripted controllers never load it). */
export async function getTf(): Promise<typeof tfTypes> {
  if (!tfModule) tfModule = await import('@tensorflow/tfjs');
  return tfModule;
}
