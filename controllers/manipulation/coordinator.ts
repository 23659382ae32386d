import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../src/core/rng.js';
import type { CriticWeights } from './critic.js';

/**
 * The coordinator of Yang et al.: an MLP 5 → 16 → 8 → 2 that decides push or grasp once the
 * target is seen, from (max Q_push, max Q_grasp, margin occupancy, normalised target area,
 * consecutive grasp failures / 5). Output logits [push, grasp]; trained with cross-entropy on
 * labels gathered while the critic trains (see agent.ts).
 */
export const COORDINATOR_SIZES = [5, 16, 8, 2];

export class Coordinator {
  readonly vars: tf.Variable[] = [];
  private readonly optimizer = tf.train.adam(3e-3);

  constructor(rng: Rng) {
    for (let l = 0; l + 1 < COORDINATOR_SIZES.length; l++) {
      const [a, b] = [COORDINATOR_SIZES[l], COORDINATOR_SIZES[l + 1]];
      const bound = Math.sqrt(6 / a);
      this.vars.push(tf.variable(tf.tensor2d(Float32Array.from({ length: a * b }, () => rng.uniform(-bound, bound)), [a, b])));
      this.vars.push(tf.variable(tf.zeros([b])));
    }
  }

  private logits(x: tf.Tensor2D): tf.Tensor2D {
    let h: tf.Tensor2D = x;
    for (let l = 0; l < this.vars.length; l += 2) {
      h = tf.add(tf.matMul(h, this.vars[l] as unknown as tf.Tensor2D), this.vars[l + 1]) as tf.Tensor2D;
      if (l + 2 < this.vars.length) h = tf.relu(h);
    }
    return h;
  }

  /** P(grasp) for one feature vector. */
  pGrasp(features: number[]): number {
    return tf.tidy(() => tf.softmax(this.logits(tf.tensor2d(features, [1, 5]))).dataSync()[1]);
  }

  /**
   * Some epochs of full-batch cross-entropy on (features, label: 0 push, 1 grasp). Each class is
   * weighted by N / (2·N_class), so that P(grasp) ≥ 0.5 reads "likelier to succeed than the
   * average grasp" rather than following the base rate (most grasps in clutter fail, and an
   * unweighted fit learns "always push").
   */
  fit(features: number[][], labels: number[], epochs = 50): number {
    if (!features.length) return NaN;
    const x = tf.tensor2d(features.flat(), [features.length, 5]);
    const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 2);
    const ones = labels.reduce((a, b) => a + b, 0);
    const classWeight = [labels.length / (2 * Math.max(1, labels.length - ones)), labels.length / (2 * Math.max(1, ones))];
    const w = tf.tensor1d(labels.map((l) => classWeight[l]));
    let last = NaN;
    for (let e = 0; e < epochs; e++) {
      const loss = this.optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, this.logits(x), w) as tf.Scalar, true, this.vars);
      if (e === epochs - 1 && loss) last = loss.dataSync()[0];
      loss?.dispose();
    }
    tf.dispose([x, y, w]);
    return last;
  }

  getWeights(): CriticWeights {
    const out: CriticWeights = {};
    this.vars.forEach((v, i) => (out[`v${i}`] = { shape: v.shape, values: Array.from(v.dataSync()) }));
    return out;
  }

  setWeights(w: CriticWeights): void {
    this.vars.forEach((v, i) => {
      const src = w[`v${i}`];
      if (!src || src.values.length !== v.size) throw new Error(`coordinator weights: v${i} missing or of the wrong size`);
      tf.tidy(() => v.assign(tf.tensor(src.values, v.shape)));
    });
  }

  dispose(): void {
    for (const v of this.vars) v.dispose();
    this.optimizer.dispose();
  }
}
