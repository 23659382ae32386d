import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../src/core/rng.js';
import { initWeights, Mlp, softUpdate } from '../nn/index.js';
import { mlpSpec } from '../policy/network.js';

/**
 * A Q-network and its target, for any task with Discrete actions: `q(obs)` gives Q(s, ·) for a
 * batch, `greedy(obs)` the argmax action, `updateTarget(τ)` the hard (τ = 1) or Polyak update.
 * The manipulation task's primitives reuse it with their own observation size and action count.
 */
export class QNetwork {
  readonly online: Mlp;
  readonly target: Mlp;

  constructor(
    readonly obsSize: number,
    readonly numActions: number,
    hidden: number[],
    activation: 'relu' | 'tanh',
    rng: Rng,
  ) {
    const spec = mlpSpec({ inputSize: obsSize, hidden, outputSize: numActions, activation });
    // PyTorch's default Linear init, as SB3's QNetwork keeps it; the target starts as a copy.
    const w = initWeights(spec, rng, { kind: 'fan-in-uniform' });
    this.online = new Mlp(spec, w, 'dqn-q');
    this.target = new Mlp(spec, w, 'dqn-q-target');
  }

  /** Q(s, ·) of the online network for `n` observations (row-major), as [n × numActions]. */
  q(obs: Float32Array, n = obs.length / this.obsSize): Float32Array {
    const x = tf.tensor2d(obs, [n, this.obsSize]);
    const y = tf.tidy(() => this.online.apply(x));
    const out = Float32Array.from(y.dataSync() as Float32Array);
    tf.dispose([x, y]);
    return out;
  }

  /** argmax_a Q(s, a) per row (lowest index on ties, as torch.argmax). */
  greedy(obs: Float32Array, n = obs.length / this.obsSize): Int32Array {
    const q = this.q(obs, n);
    const k = this.numActions;
    const out = new Int32Array(n);
    for (let r = 0; r < n; r++) {
      let best = 0;
      for (let j = 1; j < k; j++) if (q[r * k + j] > q[r * k + best]) best = j;
      out[r] = best;
    }
    return out;
  }

  /** θ′ ← τθ + (1 − τ)θ′; τ = 1 is a hard copy. */
  updateTarget(tau: number): void {
    if (tau >= 1) this.target.copyFrom(this.online);
    else softUpdate(this.target, this.online, tau);
  }

  dispose(): void {
    this.online.dispose();
    this.target.dispose();
  }
}

/**
 * TD targets y = r + γ·(1 − d)·Q_target(s′, a*) with
 *   a* = argmax_a Q_online(s′, a)   (double DQN, van Hasselt et al. 2016, eq. 4), or
 *   a* = argmax_a Q_target(s′, a)   (DQN, Mnih et al. 2015).
 * `dones` is 1 only on termination: a time-limit truncation still bootstraps.
 */
export function dqnTargets(
  rewards: tf.Tensor1D,
  dones: tf.Tensor1D,
  qNextTarget: tf.Tensor2D,
  qNextOnline: tf.Tensor2D | null,
  gamma: number,
): tf.Tensor1D {
  return tf.tidy(() => {
    const k = qNextTarget.shape[1];
    const chooser = qNextOnline ?? qNextTarget;
    const aStar = tf.argMax(chooser, 1);
    const next = tf.sum(tf.mul(qNextTarget, tf.oneHot(aStar, k)), 1);
    return tf.add(rewards, tf.mul(tf.mul(tf.sub(1, dones), gamma), next)) as tf.Tensor1D;
  });
}

/** Huber loss (Huber 1964), mean over the batch: ½x² for |x| ≤ δ, δ(|x| − ½δ) beyond. */
export function huberLoss(pred: tf.Tensor1D, target: tf.Tensor1D, delta = 1): tf.Scalar {
  return tf.tidy(() => {
    const ad = tf.abs(tf.sub(pred, target));
    const quad = tf.minimum(ad, delta);
    const lin = tf.sub(ad, quad);
    return tf.mean(tf.add(tf.mul(tf.square(quad), 0.5), tf.mul(lin, delta))) as tf.Scalar;
  });
}
