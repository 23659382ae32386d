import { createRequire } from 'node:module';
import path from 'node:path';
import type * as tfTypes from '@tensorflow/tfjs';
import { NotFoundError } from '../src/core/errors.js';
import { useBlasMatMul, type BlasInfo } from './nn/blas.js';
import { useTransposeFreeMatMulGrad } from './nn/fast-grad.js';
import { useSharedIdentity, useSharedSaves } from './nn/wasm-identity.js';

/**
 * TensorFlow.js backend selection (DESIGN.md "Backends"): tfjs-node-gpu → tfjs-node → wasm → cpu,
 * the first that loads unless a name is given. The two native ones are optionalDependencies whose
 * install downloads libtensorflow; on offline machines npm skips them, and wasm is what runs.
 *
 * Every learner calls `initBackend` once, and every run records `report.backend`.
 */
export const BACKEND_ORDER = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_ORDER)[number];

/** Also accepted on the command line. */
const ALIASES: Record<string, BackendName> = {
  'tfjs-node-gpu': 'tensorflow-gpu',
  gpu: 'tensorflow-gpu',
  'tfjs-node': 'tensorflow',
  node: 'tensorflow',
  tensorflow: 'tensorflow',
  'tensorflow-gpu': 'tensorflow-gpu',
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
  /** The tfjs backend in use: "tensorflow" (tfjs-node or -gpu), "wasm" or "cpu". */
  backend: string;
  /** The name we asked for, e.g. "tensorflow-gpu" (registers as "tensorflow"). */
  selected: BackendName;
  attempts: BackendAttempt[];
  /** wasm only: threads in the wasm thread pool (1 when the threaded binary is not used). */
  threads?: number;
  simd?: boolean;
  multithread?: boolean;
  tfjsVersion: string;
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
      await tryLoad(tf, candidate, options.threads);
      await tf.ready();
      attempts.push({ name: candidate, ok: true });
      const report: BackendReport = {
        backend: tf.getBackend(),
        selected: candidate,
        attempts,
        tfjsVersion: tf.version.tfjs,
        notes: [],
      };
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
        } else {
          // XNNPACK's matMul with a transposed operand is ~10× slower than without; tfjs's own
          // matMul gradient uses transposed operands. Swap in one that transposes explicitly.
          useTransposeFreeMatMulGrad(tf);
          report.notes.push('matMul gradients use explicit transposes (nn/fast-grad.ts)');
        }
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
