import * as tf from '@tensorflow/tfjs';
import { blasInUse, useBlasMatMul, useWasmMatMul } from './blas.js';

/** Run f on tfjs's own wasm matMul kernels (where OpenBLAS is installed), then put ours back. */
export function withWasmMatMul<T>(f: () => T): T {
  const info = blasInUse();
  if (!info) return f();
  useWasmMatMul(tf);
  try {
    return f();
  } finally {
    useBlasMatMul(tf, info.threads);
  }
}
