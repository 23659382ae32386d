/** Tensor plumbing for the learners: see README.md. */
export { Mlp, dense, initWeights, dropoutMask, layerNorm, softUpdate, assignAll, flatten, unflatten, type InitScheme } from './mlp.js';
export { Adam, ScalarAdam, type AdamOptions, type AdamState } from './adam.js';
export * from './distributions.js';
export { useTransposeFreeMatMulGrad, useStockMatMulGrad } from './fast-grad.js';
export { useBlasMatMul, useWasmMatMul, blasInUse, type BlasInfo } from './blas.js';
export { GroupedMlp, groupedDense, groupedDenseOps } from './grouped-mlp.js';
export { readView, writableView } from './storage.js';
export { tanhGaussianHead, squashedLogStdHead } from './tanh-gaussian-head.js';
export { columnMseSum, softMinObjective } from './column-losses.js';
