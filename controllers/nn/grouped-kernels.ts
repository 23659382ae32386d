import * as tf from '@tensorflow/tfjs';
import { blasInUse, GROUPED_KERNELS } from './blas.js';

/**
 * The grouped OpenBLAS kernels of nn/blas.ts as tfjs ops: a dense layer's forward (all members in
 * one kernel), ∂x, and [∂W, ∂b] in one kernel (W [K, M, N], or [M, N] for one member).
 */
export type Act = 'relu' | 'linear' | 'tanh';

/** Whether the grouped kernels run (wasm with OpenBLAS); else the same maths in tfjs ops. */
export function groupedKernels(): boolean {
  return tf.getBackend() === 'wasm' && blasInUse() !== null && tf.getKernel(GROUPED_KERNELS.forward, 'wasm') !== undefined;
}

export function forwardKernel(x: tf.Tensor, W: tf.Tensor, b: tf.Tensor, act: Act, shared: boolean): tf.Tensor {
  return tf.engine().runKernel(GROUPED_KERNELS.forward, { x, w: W, bias: b }, { sharedInput: shared, activation: act }) as tf.Tensor;
}
export function gate(dy: tf.Tensor, y: tf.Tensor, act: Act): tf.Tensor {
  if (act === 'relu') return tf.mul(dy, tf.step(y));
  if (act === 'tanh') return tf.mul(dy, tf.sub(1, tf.square(y)));
  return dy;
}
export const gradInput = (g: tf.Tensor, W: tf.Tensor, shared: boolean) => tf.engine().runKernel(GROUPED_KERNELS.gradInput, { g, w: W }, { sharedInput: shared }) as tf.Tensor;
/** [∂L/∂W, ∂L/∂b] in one kernel (the bias gradient as one product, not a row sum). */
export const gradWeights = (x: tf.Tensor, g: tf.Tensor, weightShape: number[], shared: boolean) =>
  tf.engine().runKernel(GROUPED_KERNELS.gradWeights, { x, g }, { sharedInput: shared, weightShape }) as unknown as [tf.Tensor, tf.Tensor];


/**
 * A relu or linear layer's backward as one kernel: [∂x] when `frozen` (x may then be omitted), else
 * [∂x, ∂W, ∂b]. Same products as gate + gradInput + gradWeights.
 */
export function denseGrad(dy: tf.Tensor, x: tf.Tensor | null, W: tf.Tensor, y: tf.Tensor, act: 'relu' | 'linear', shared: boolean, frozen: boolean): tf.Tensor[] {
  const inputs: Record<string, tf.Tensor> = { dy, w: W, y };
  if (x) inputs.x = x;
  const out = tf.engine().runKernel(GROUPED_KERNELS.denseGrad, inputs, { sharedInput: shared, activation: act, frozen }) as unknown as tf.Tensor | tf.Tensor[];
  return Array.isArray(out) ? out : [out];
}
