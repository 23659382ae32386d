import type * as tfTypes from '@tensorflow/tfjs';

/**
 * A matMul gradient without transposed matMul operands.
 *
 * tfjs's gradient of C = A·B is dA = dC·Bᵀ and dB = Aᵀ·dC, computed as matMul with
 * transposeA/transposeB set. On the wasm backend (XNNPACK) a transposed operand takes a slow
 * path: measured here, 256×256×256 runs 1.1 ms plain, 9.6 ms with transposeB, 15 ms with
 * transposeA, while an explicit `transpose` costs 0.27 ms. So we transpose first and multiply plain.
 * The result is mathematically identical; only the rank-2 case is replaced (others keep tfjs's).
 */
let installed = false;
let original: ReturnType<typeof tfTypes.getGradient> | null = null;

/** Put tfjs's own matMul gradient back (the bench uses it to measure the naive baseline). */
export function useStockMatMulGrad(tf: typeof tfTypes): void {
  if (!installed || !original) return;
  const warn = console.warn;
  console.warn = () => {};
  try {
    tf.registerGradient(original);
  } finally {
    console.warn = warn;
  }
  installed = false;
}

export function useTransposeFreeMatMulGrad(tf: typeof tfTypes): void {
  if (installed) return;
  original ??= tf.getGradient('BatchMatMul');
  if (!original) return;
  const stock = original;
  const T = (x: tfTypes.Tensor) => tf.transpose(x);
  // registerGradient warns once when it overrides; that warning is expected.
  const warn = console.warn;
  console.warn = () => {};
  try {
    tf.registerGradient({
      kernelName: 'BatchMatMul',
      inputsToSave: ['a', 'b'],
      gradFunc: (dy, saved, attrs) => {
        const [a, b] = saved;
        const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
        if (a.rank !== 2 || b.rank !== 2) return stock.gradFunc(dy, saved, attrs);
        const d = dy as tfTypes.Tensor;
        if (!transposeA && !transposeB) {
          // C = A·B with A [M,K], B [K,N]. Transpose whichever operands are smaller: for an output
          // layer (N = 1 or a few), dB = (dCᵀ·A)ᵀ moves M·N + K·N values instead of Aᵀ's M·K.
          const [M, K] = a.shape as [number, number];
          const N = b.shape[1] as number;
          return {
            a: () => (K * N <= M * N + M * K ? tf.matMul(d, T(b)) : T(tf.matMul(b, T(d)))),
            b: () => (M * K <= M * N + K * N ? tf.matMul(T(a), d) : T(tf.matMul(T(d), a))),
          };
        }
        if (!transposeA && transposeB) return { a: () => tf.matMul(d, b), b: () => tf.matMul(T(d), a) };
        if (transposeA && !transposeB) return { a: () => tf.matMul(b, T(d)), b: () => tf.matMul(a, d) };
        return { a: () => tf.matMul(T(b), T(d)), b: () => tf.matMul(T(d), T(a)) };
      },
    });
  } finally {
    console.warn = warn;
  }
  installed = true;
}
