/**
 * SAC/STAC's networks and their heads: the tanh-Gaussian actor, the critic(s) and target(s).
 *
 * SAC's twin critics are one `GroupedMlp` of two members (controllers/nn/grouped-mlp.ts): each
 * dense layer of both critics is one grouped product, and the critic's output [B, 2] holds Q1 and
 * Q2 in its columns. STAC's one distributional critic is an `Mlp` whose output [B, 2] holds μ and
 * the raw σ. Both list their weights as separate critics would (member-major), so checkpoints keep
 * the layout of two networks.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../src/core/rng.js';
import { GroupedMlp, initWeights, Mlp, squashedLogStdHead, tanhGaussianHead } from '../nn/index.js';
import { mlpSpec } from '../policy/network.js';
import type { SacConfig } from './config.js';

/** What the update needs of a critic: variables, a forward [B, in] → [B, 2], weights as separate critics would list them. */
export interface CriticNetwork {
  readonly vars: tf.Variable[];
  apply(x: tf.Tensor2D, dropoutRng?: Rng | null, opts?: { noGrad?: boolean; frozen?: boolean }): tf.Tensor2D;
  getWeights(): Float32Array[];
  setWeights(weights: Float32Array[]): void;
  dispose(): void;
}

export class SacNetworks {
  /** A one-member GroupedMlp: the same network as an Mlp, on the grouped kernels (one backward kernel per layer). */
  readonly actor: GroupedMlp;
  readonly critic: CriticNetwork;
  readonly target: CriticNetwork;

  constructor(
    private readonly config: SacConfig,
    readonly obsSize: number,
    readonly actSize: number,
    initRng: Rng,
  ) {
    const c = config;
    const hiddenOpts = { hidden: c.hidden, dropout: c.dropout, layerNorm: c.layerNorm };
    const actorSpec = mlpSpec({ inputSize: obsSize, outputSize: 2 * actSize, ...hiddenOpts });
    this.actor = new GroupedMlp(actorSpec, 1, [initWeights(actorSpec, initRng)], 'actor');
    if (c.critic === 'twin') {
      const spec = mlpSpec({ inputSize: obsSize + actSize, outputSize: 1, ...hiddenOpts });
      // Drawn in the order two separate critics were: all of Q1's weights, then Q2's.
      const members = [initWeights(spec, initRng), initWeights(spec, initRng)];
      this.critic = new GroupedMlp(spec, 2, members, 'q');
      // The target from copies: the cpu backend keeps a tensor's source array as its storage, and
      // Adam steps the critic in place, so shared arrays would move the target with it.
      this.target = new GroupedMlp(spec, 2, members.map((ws) => ws.map((a) => a.slice())), 'q_target');
    } else {
      const spec = mlpSpec({ inputSize: obsSize + actSize, outputSize: 2, ...hiddenOpts });
      const w = initWeights(spec, initRng);
      this.critic = new Mlp(spec, w, 'q1');
      this.target = new Mlp(spec, w.map((a) => a.slice()), 'q1_target'); // copies (see above)
    }
  }

  /**
   * Per-variable arrays of the critic (its Adam moments) in the member-major layout of separate
   * critics, and back: checkpoints hold that layout whichever way the critics run.
   */
  criticArraysToMemberMajor(arrays: Float32Array[]): Float32Array[] {
    return this.critic instanceof GroupedMlp ? this.critic.unstack(arrays) : arrays;
  }
  criticArraysFromMemberMajor(arrays: Float32Array[]): Float32Array[] {
    return this.critic instanceof GroupedMlp ? this.critic.stack(arrays) : arrays;
  }

  /** Split the actor output into mean and log σ; log σ is tanh-squashed into [min, max] (CleanRL). */
  actorHead(out: tf.Tensor2D): { mean: tf.Tensor2D; logStd: tf.Tensor2D } {
    return squashedLogStdHead(out, this.config.logStdMin, this.config.logStdMax);
  }

  /**
   * Sample a′ ~ π(·|s) with reparameterisation (the head and the tanh-Gaussian as one op,
   * nn/tanh-gaussian-head.ts); noise from `rng`, dropout masks from `dropoutRng`.
   */
  policySample(obs: tf.Tensor2D, rng: Rng, dropoutRng: Rng | null, noGrad = false): { action: tf.Tensor2D; logProb: tf.Tensor1D } {
    const n = obs.shape[0];
    const noise = new Float32Array(n * this.actSize);
    for (let i = 0; i < noise.length; i++) noise[i] = rng.normal();
    const out = this.actor.apply(obs, dropoutRng, { noGrad });
    return tanhGaussianHead(out, noise, this.config.logStdMin, this.config.logStdMax);
  }

  /** STAC critic head: μ and σ = softplus(max(raw, −5)). */
  normalHead(out: tf.Tensor2D): { mu: tf.Tensor1D; sigma: tf.Tensor1D } {
    const [mu, raw] = tf.split(out, [1, 1], 1);
    return { mu: tf.reshape(mu, [-1]) as tf.Tensor1D, sigma: tf.reshape(tf.softplus(tf.maximum(raw, -5)), [-1]) as tf.Tensor1D };
  }

  criticInput(obs: tf.Tensor2D, action: tf.Tensor2D): tf.Tensor2D {
    return tf.concat([obs, action], 1);
  }

  /**
   * The value the actor maximises and the target bootstraps from, for the critic `net` (the
   * critic or its target): SAC: min(Q1, Q2) over the output's two columns; STAC: μ − β·σ.
   */
  pessimisticValue(net: CriticNetwork, sa: tf.Tensor2D, dropoutRng: Rng | null, noGrad = false, frozen = false): tf.Tensor1D {
    if (this.config.critic === 'twin') return tf.min(net.apply(sa, null, { noGrad, frozen }), 1) as tf.Tensor1D;
    const { mu, sigma } = this.normalHead(net.apply(sa, dropoutRng, { noGrad, frozen }));
    return tf.sub(mu, tf.mul(this.config.beta, sigma)) as tf.Tensor1D;
  }

  dispose(): void {
    this.actor.dispose();
    this.critic.dispose();
    this.target.dispose();
  }
}
