import type * as tfTypes from '@tensorflow/tfjs';
import { Rng } from '../../src/core/rng.js';
import type { Episode, OfflineDataset } from '../../src/data/dataset.js';
import { episodeLength, observationStats } from '../../src/data/dataset.js';

/**
 * Action-free trajectories (Zheng et al., SSORL; code facebookresearch/ssorl): a Gaussian inverse-
 * dynamics model p(a_t | s_{t−1}, s_t, s_{t+1}) trained with NLL on the labelled episodes (10% of
 * them held out, the best held-out model kept) labels the unlabelled ones with its mean, clipped to
 * the action range; the predicted std is returned as the uncertainty.
 * Ours is smaller than the paper's (MLP 256-256 instead of 1024-1024, lr 1e-3, fewer updates).
 */
export interface IdmOptions {
  seed: number;
  updates?: number;
  hidden?: number;
  batch?: number;
  lr?: number;
  holdout?: number;
}

export interface IdmResult {
  /** Held-out labelled data: MSE of the predicted mean vs the true action, and of the mean action (baseline). */
  heldOutMse: number;
  baselineMse: number;
  trainEpisodes: number;
  heldOutEpisodes: number;
  label(ep: Episode): { actions: Float32Array; std: Float32Array };
  dispose(): void;
}

/** Row t of the IDM input: [s_{t−1}, s_t, s_{t+1}] normalised (s_{−1} := s_0). */
function idmInput(ep: Episode, t: number, d: number, mean: Float32Array, std: Float32Array, out: Float32Array, off: number): void {
  const rows = [Math.max(0, t - 1), t, t + 1];
  for (let k = 0; k < 3; k++) for (let j = 0; j < d; j++) out[off + k * d + j] = (ep.observations[rows[k] * d + j] - mean[j]) / std[j];
}

export async function trainInverseDynamics(labelled: OfflineDataset, opts: IdmOptions): Promise<IdmResult> {
  const { initBackend, getTf } = await import('../backend.js');
  await initBackend();
  const tf: typeof tfTypes = await getTf();
  const { Mlp, Adam, initWeights } = await import('../nn/index.js');
  const { mlpSpec } = await import('../policy/network.js');
  const rng = new Rng(opts.seed);
  const d = labelled.meta.obsDim;
  const A = labelled.meta.actDim;
  const eps = rng.shuffle([...labelled.episodes]);
  const nHold = Math.max(1, Math.round((opts.holdout ?? 0.1) * eps.length));
  const held = eps.slice(0, nHold);
  const train = eps.slice(nHold);
  const { mean, std } = observationStats({ meta: labelled.meta, episodes: train });
  const spec = mlpSpec({ inputSize: 3 * d, hidden: [opts.hidden ?? 256, opts.hidden ?? 256], outputSize: 2 * A });
  const net = new Mlp(spec, initWeights(spec, rng.fork()), 'idm');
  const adam = new Adam(net.vars, { lr: opts.lr ?? 1e-3 });
  const B = opts.batch ?? 256;
  const lengths = train.map(episodeLength);
  const total = lengths.reduce((a, b) => a + b, 0);
  const pick = (): [Episode, number] => {
    let k = rng.int(total);
    for (let i = 0; i < train.length; i++) {
      if (k < lengths[i]) return [train[i], k];
      k -= lengths[i];
    }
    return [train[0], 0];
  };
  const predictMean = (ep: Episode) => {
    const T = episodeLength(ep);
    const x = new Float32Array(T * 3 * d);
    for (let t = 0; t < T; t++) idmInput(ep, t, d, mean, std, x, t * 3 * d);
    return tf.tidy(() => {
      const y = net.apply(tf.tensor2d(x, [T, 3 * d]));
      return { mu: tf.tanh(tf.slice(y, [0, 0], [T, A])).dataSync() as Float32Array, logStd: tf.clipByValue(tf.slice(y, [0, A], [T, A]), -5, 2).dataSync() as Float32Array };
    });
  };
  const heldMse = () => {
    let se = 0;
    let n = 0;
    for (const ep of held) {
      const { mu } = predictMean(ep);
      for (let i = 0; i < mu.length; i++) {
        se += (mu[i] - ep.actions![i]) ** 2;
        n++;
      }
    }
    return se / n;
  };
  const updates = opts.updates ?? 1500;
  let best = Infinity;
  let bestWeights = net.getWeights();
  const x = new Float32Array(B * 3 * d);
  const y = new Float32Array(B * A);
  for (let u = 0; u < updates; u++) {
    for (let i = 0; i < B; i++) {
      const [ep, t] = pick();
      idmInput(ep, t, d, mean, std, x, i * 3 * d);
      y.set(ep.actions!.subarray(t * A, (t + 1) * A), i * A);
    }
    const xt = tf.tensor2d(x, [B, 3 * d]);
    const yt = tf.tensor2d(y, [B, A]);
    const { value, grads } = tf.variableGrads(() => {
      const out = net.apply(xt);
      const mu = tf.tanh(tf.slice(out, [0, 0], [B, A]));
      const logStd = tf.clipByValue(tf.slice(out, [0, A], [B, A]), -5, 2);
      // Gaussian NLL (constant dropped).
      return tf.mean(tf.add(tf.mul(tf.square(tf.div(tf.sub(yt, mu), tf.exp(logStd))), 0.5), logStd)) as tfTypes.Scalar;
    }, net.vars);
    adam.step(net.vars.map((v) => grads[v.name]));
    tf.dispose([value, xt, yt, ...Object.values(grads)]);
    if ((u + 1) % 250 === 0 || u === updates - 1) {
      const m = heldMse();
      if (m < best) {
        best = m;
        bestWeights = net.getWeights();
      }
    }
  }
  net.setWeights(bestWeights);
  // Baseline: always predict the training mean action.
  const meanA = new Float64Array(A);
  let n = 0;
  for (const ep of train) for (let i = 0; i < ep.actions!.length; i++, n++) meanA[i % A] += ep.actions![i];
  for (let j = 0; j < A; j++) meanA[j] /= n / A;
  let se = 0;
  let m = 0;
  for (const ep of held) for (let i = 0; i < ep.actions!.length; i++, m++) se += (ep.actions![i] - meanA[i % A]) ** 2;
  return {
    heldOutMse: best,
    baselineMse: se / m,
    trainEpisodes: train.length,
    heldOutEpisodes: held.length,
    label(ep: Episode) {
      const { mu, logStd } = predictMean(ep);
      return { actions: Float32Array.from(mu, (v) => Math.max(-1, Math.min(1, v))), std: Float32Array.from(logStd, Math.exp) };
    },
    dispose: () => net.dispose(),
  };
}

/** Label every action-free episode (actions === null) of `ds` with the model's mean action. */
export function labelDataset(ds: OfflineDataset, idm: IdmResult): OfflineDataset {
  return { meta: ds.meta, episodes: ds.episodes.map((e) => (e.actions ? e : { ...e, actions: idm.label(e).actions })) };
}
