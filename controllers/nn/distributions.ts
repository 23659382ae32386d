import * as tf from '@tensorflow/tfjs';

/**
 * Distributions as tensor functions over a batch [N, A], summed over the action axis.
 * Noise is passed in (drawn from our seeded Rng) so that every run is reproducible.
 */
const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/** log N(x; mean, exp(logStd)) summed over the last axis → [N]. */
export function gaussianLogProb(x: tf.Tensor2D, mean: tf.Tensor2D, logStd: tf.Tensor2D): tf.Tensor1D {
  const z = tf.mul(tf.sub(x, mean), tf.exp(tf.neg(logStd)));
  return tf.sum(tf.sub(tf.sub(tf.mul(tf.square(z), -0.5), logStd), HALF_LOG_2PI), -1) as tf.Tensor1D;
}

/** Entropy of a diagonal Gaussian → [N]. */
export function gaussianEntropy(logStd: tf.Tensor2D): tf.Tensor1D {
  return tf.sum(tf.add(logStd, 0.5 + HALF_LOG_2PI), -1) as tf.Tensor1D;
}

/**
 * Tanh-squashed Gaussian, reparameterised (Haarnoja et al. 2018, SAC appendix C):
 * u = μ + σ·ε, a = tanh(u), log π(a) = log N(u; μ, σ) − Σ log(1 − tanh²u).
 * The correction uses log(1 − tanh²u) = 2(log 2 − u − softplus(−2u)), which stays finite where
 * tanh saturates (CleanRL's log(1 − a² + 1e-6) biases it there).
 */
export function tanhGaussianSample(
  mean: tf.Tensor2D,
  logStd: tf.Tensor2D,
  eps: tf.Tensor2D,
): { action: tf.Tensor2D; logProb: tf.Tensor1D; preTanh: tf.Tensor2D } {
  const u = tf.add(mean, tf.mul(tf.exp(logStd), eps)) as tf.Tensor2D;
  const action = tf.tanh(u);
  // log N(u; μ, σ) with (u − μ)/σ = ε exactly.
  const gauss = tf.sum(tf.sub(tf.sub(tf.mul(tf.square(eps), -0.5), logStd), HALF_LOG_2PI), -1);
  const logDetJ = tf.sum(tf.mul(tf.sub(tf.sub(Math.log(2), u), tf.softplus(tf.mul(u, -2))), 2), -1);
  return { action, logProb: tf.sub(gauss, logDetJ) as tf.Tensor1D, preTanh: u };
}

/** log π(a) of the tanh-Gaussian for a given action in (−1, 1) (u = atanh a). */
export function tanhGaussianLogProb(action: tf.Tensor2D, mean: tf.Tensor2D, logStd: tf.Tensor2D): tf.Tensor1D {
  const clipped = tf.clipByValue(action, -1 + 1e-6, 1 - 1e-6);
  const u = tf.atanh(clipped) as tf.Tensor2D;
  const logDetJ = tf.sum(tf.mul(tf.sub(tf.sub(Math.log(2), u), tf.softplus(tf.mul(u, -2))), 2), -1);
  return tf.sub(gaussianLogProb(u, mean, logStd), logDetJ) as tf.Tensor1D;
}

/** Scalar version, for tests and for one-off checks: log density of a = tanh(u), u ~ N(μ, σ²). */
export function tanhGaussianLogProbScalar(a: number, mu: number, sigma: number): number {
  const u = Math.atanh(a);
  const z = (u - mu) / sigma;
  return -0.5 * z * z - Math.log(sigma) - HALF_LOG_2PI - Math.log(1 - a * a);
}

/** Categorical over logits [N, K]: log π(k) for integer actions [N] (int32). */
export function categoricalLogProb(logits: tf.Tensor2D, actions: tf.Tensor1D): tf.Tensor1D {
  const logp = tf.logSoftmax(logits);
  const oneHot = tf.oneHot(tf.cast(actions, 'int32'), logits.shape[1]);
  return tf.sum(tf.mul(logp, oneHot), -1) as tf.Tensor1D;
}

export function categoricalEntropy(logits: tf.Tensor2D): tf.Tensor1D {
  const logp = tf.logSoftmax(logits);
  return tf.neg(tf.sum(tf.mul(tf.exp(logp), logp), -1)) as tf.Tensor1D;
}

/** Sample K-way categorical actions from logits with given uniforms in [0, 1) (inverse CDF), in JS. */
export function categoricalSample(logits: Float32Array, n: number, k: number, uniforms: ArrayLike<number>): Int32Array {
  const out = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    let max = -Infinity;
    for (let j = 0; j < k; j++) max = Math.max(max, logits[r * k + j]);
    let z = 0;
    for (let j = 0; j < k; j++) z += Math.exp(logits[r * k + j] - max);
    let c = 0;
    const target = uniforms[r] * z;
    out[r] = k - 1;
    for (let j = 0; j < k; j++) {
      c += Math.exp(logits[r * k + j] - max);
      if (target < c) {
        out[r] = j;
        break;
      }
    }
  }
  return out;
}

/** Gaussian negative log-likelihood −log N(y; μ, σ), elementwise (STAC's critic loss). */
export function gaussianNll(y: tf.Tensor, mu: tf.Tensor, sigma: tf.Tensor): tf.Tensor {
  const z = tf.div(tf.sub(y, mu), sigma);
  return tf.add(tf.add(tf.mul(tf.square(z), 0.5), tf.log(sigma)), HALF_LOG_2PI);
}
