import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../src/core/rng.js';
import type { Space } from '../../src/core/spaces.js';
import { categoricalEntropy, gaussianEntropy, gaussianLogProb, initWeights, Mlp } from '../nn/index.js';
import { mlpSpec } from '../policy/network.js';
import type { PpoConfig } from './config.js';

let uid = 0;

/**
 * PPO's networks and its action distribution: separate actor and critic MLPs (SB3's MlpPolicy),
 * orthogonal init (gains √2, 0.01, 1), and for Box actions a state-independent log-std.
 * Discrete → Categorical over the actor's logits; Box → Gaussian N(actor(x), exp(logStd)²).
 * `logProb` is the one log-density of the learner: the rollout's π_old(a|s) and the update's
 * π_new(a|s) both come from it.
 */
export class PpoNets {
  readonly actor: Mlp;
  readonly critic: Mlp;
  /** Box only: the state-independent log standard deviation, shape [A]. */
  readonly logStd: tf.Variable | null;
  readonly discrete: boolean;
  /** Box action size, or the number of discrete actions. */
  readonly actionSize: number;
  readonly obsSize: number;

  constructor(obsSize: number, actionSpace: Space, cfg: PpoConfig, initRng: Rng) {
    this.discrete = actionSpace.kind === 'discrete';
    this.actionSize = actionSpace.kind === 'discrete' ? actionSpace.n : actionSpace.size;
    this.obsSize = obsSize;
    const hiddenGains = Array<number>(cfg.hidden.length).fill(Math.SQRT2);
    const actorSpec = mlpSpec({ inputSize: obsSize, hidden: cfg.hidden, outputSize: this.actionSize, activation: cfg.activation });
    const criticSpec = mlpSpec({ inputSize: obsSize, hidden: cfg.hidden, outputSize: 1, activation: cfg.activation });
    this.actor = new Mlp(actorSpec, initWeights(actorSpec, initRng, { kind: 'orthogonal', gains: [...hiddenGains, 0.01] }), 'ppo-actor');
    this.critic = new Mlp(criticSpec, initWeights(criticSpec, initRng, { kind: 'orthogonal', gains: [...hiddenGains, 1] }), 'ppo-critic');
    this.logStd = this.discrete ? null : tf.variable(tf.fill([this.actionSize], cfg.logStdInit), true, `ppo-logstd-${uid++}`);
  }

  /** Every trained variable, in the optimiser's (and the checkpoint's) order. */
  get params(): tf.Variable[] {
    return [...this.actor.vars, ...this.critic.vars, ...(this.logStd ? [this.logStd] : [])];
  }

  /** Values stored per action in the rollout: 1 (the index) for Discrete, A for Box. */
  get actionWidth(): number {
    return this.discrete ? 1 : this.actionSize;
  }

  /** Actor output (logits or means) and V for a batch of normalised observations, read back to JS. */
  forward(x: Float32Array, withActor: boolean): { out: Float32Array | null; values: Float32Array } {
    const n = x.length / this.obsSize;
    const xt = tf.tensor2d(x, [n, this.obsSize]);
    const out = withActor ? tf.tidy(() => this.actor.apply(xt)) : null;
    const v = tf.tidy(() => this.critic.apply(xt));
    const res = { out: out ? (out.dataSync() as Float32Array) : null, values: v.dataSync() as Float32Array };
    tf.dispose(out ? [xt, out, v] : [xt, v]);
    return res;
  }

  /**
   * The rollout's actions as the tensor `logProbAndEntropy` takes: for Discrete the float one-hot
   * rows [B, K] (built once per rollout: categoricalLogProb would build, cast and differentiate
   * them in every minibatch; the products and sums are the same numbers), for Box float32 [B, A].
   */
  actionsTensor(actions: Float32Array): tf.Tensor2D {
    if (!this.discrete) return tf.tensor2d(actions, [actions.length / this.actionSize, this.actionSize]);
    const K = this.actionSize;
    const oneHot = new Float32Array(actions.length * K);
    actions.forEach((a, i) => (oneHot[i * K + a] = 1));
    return tf.tensor2d(oneHot, [actions.length, K]);
  }

  /**
   * log π(a|x) per row from the actor's output `out` (Box: of the unclipped sample, as SB3), and
   * the per-row entropy of π(·|x). `entropyGrad`: whether a gradient will flow through the entropy
   * (entCoef > 0); when none does, the Categorical entropy reuses the log-softmax of the log-prob
   * (same values, ~8 kernels fewer); when one does, it keeps its own, so its backward sums in the
   * order categoricalEntropy gives.
   */
  logProbAndEntropy(out: tf.Tensor2D, actions: tf.Tensor2D, entropyGrad = true): { logProb: tf.Tensor1D; entropy: tf.Tensor1D } {
    if (this.discrete) {
      // categoricalLogProb with the one-hot rows given: Σ_k log softmax(out)_k · onehot_k.
      const logp = tf.logSoftmax(out);
      const logProb = tf.sum(tf.mul(logp, actions), -1) as tf.Tensor1D;
      if (entropyGrad) return { logProb, entropy: categoricalEntropy(out) };
      return { logProb, entropy: tf.neg(tf.sum(tf.mul(tf.exp(logp), logp), -1)) as tf.Tensor1D };
    }
    const ls = tf.mul(tf.onesLike(out), this.logStd!) as tf.Tensor2D;
    return { logProb: gaussianLogProb(actions, out, ls), entropy: gaussianEntropy(ls) };
  }

  /** log π(a|x) of a whole rollout under the current actor: π_old of the update, computed once per rollout. */
  logProb(obs: tf.Tensor2D, actions: tf.Tensor2D): tf.Tensor1D {
    return tf.tidy(() => this.logProbAndEntropy(this.actor.apply(obs), actions, false).logProb);
  }

  dispose(): void {
    this.actor.dispose();
    this.critic.dispose();
    this.logStd?.dispose();
  }
}
