import { Rng } from '../core/rng.js';
import type { Episode, OfflineDataset } from './dataset.js';
import { episodeLength, episodeReturn } from './dataset.js';

/**
 * Trajectory weighting for mixed-quality datasets (Hong et al. 2023, "Harnessing Mixed Offline RL
 * Datasets via Trajectory Weighting"; code Improbable-AI/harness-offline-rl).
 *
 * - RW: Ĝ_i = min-max normalised return; each transition of episode i has probability ∝ exp(Ĝ_i/α),
 *   so episode i's mass is ∝ T_i·exp(Ĝ_i/α). α = 0.1.
 * - AW: A_i = G_i − V̂(s0_i), V̂ a linear (ridge) regression of G on the initial state; A min-max
 *   normalised and put through the same softmax.
 * - Uniform: every transition equally likely (episode mass ∝ T_i), the DT reference sampling.
 * - Top-k%: BC's comparison baseline keeps the best 10% of episodes by return.
 */
export type Weighting = 'uniform' | 'return' | 'advantage';
export const RW_ALPHA = 0.1;

export function minMax(xs: number[]): number[] {
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  return xs.map((x) => (hi > lo ? (x - lo) / (hi - lo) : 0));
}

/** Per-transition weight exp(x̂_i/α) of each episode, for x the returns (RW) or advantages (AW). */
export function transitionWeights(scores: number[], alpha = RW_ALPHA): number[] {
  const z = minMax(scores);
  // Subtract the max before exp for stability; the normalisation cancels it.
  const m = Math.max(...z.map((v) => v / alpha));
  return z.map((v) => Math.exp(v / alpha - m));
}

/** Least-squares V̂(s0) = w·s0 + b (tiny ridge for rank-deficient s0), returning G − V̂(s0) per episode. */
export function advantages(episodes: Episode[], obsDim: number, ridge = 1e-3): number[] {
  const d = obsDim + 1;
  const A = Array.from({ length: d }, () => new Float64Array(d));
  const y = new Float64Array(d);
  const G = episodes.map(episodeReturn);
  for (let e = 0; e < episodes.length; e++) {
    const x = [...episodes[e].observations.subarray(0, obsDim), 1];
    for (let i = 0; i < d; i++) {
      y[i] += x[i] * G[e];
      for (let j = 0; j < d; j++) A[i][j] += x[i] * x[j];
    }
  }
  for (let i = 0; i < d; i++) A[i][i] += ridge;
  const w = solve(A, y);
  return episodes.map((ep, e) => {
    let v = w[obsDim];
    for (let i = 0; i < obsDim; i++) v += w[i] * ep.observations[i];
    return G[e] - v;
  });
}

/** Gaussian elimination with partial pivoting (d is small: the observation size + 1). */
function solve(A: Float64Array[], b: Float64Array): Float64Array {
  const n = b.length;
  const M = A.map((r, i) => [...r, b[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r][c]) > Math.abs(M[p][c])) p = r;
    [M[c], M[p]] = [M[p], M[c]];
    const piv = M[c][c] || 1e-12;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = M[r][c] / piv;
      if (f) for (let k = c; k <= n; k++) M[r][k] -= f * M[c][k];
    }
  }
  return Float64Array.from(M.map((r, i) => r[n] / (r[i] || 1e-12)));
}

/** Probability of drawing each episode (its transitions' total mass), under a weighting. */
export function episodeProbabilities(ds: OfflineDataset, weighting: Weighting, alpha = RW_ALPHA): number[] {
  const T = ds.episodes.map(episodeLength);
  let w: number[];
  if (weighting === 'uniform') w = T.map(() => 1);
  else if (weighting === 'return') w = transitionWeights(ds.episodes.map(episodeReturn), alpha);
  else w = transitionWeights(advantages(ds.episodes, ds.meta.obsDim), alpha);
  const mass = w.map((wi, i) => wi * T[i]);
  const total = mass.reduce((a, b) => a + b, 0);
  return mass.map((m) => m / total);
}

/** The best `fraction` of episodes by return (at least one). */
export function topEpisodes(ds: OfflineDataset, fraction = 0.1): OfflineDataset {
  const order = ds.episodes.map((e, i) => [episodeReturn(e), i] as const).sort((a, b) => b[0] - a[0]);
  const k = Math.max(1, Math.round(fraction * ds.episodes.length));
  const keep = new Set(order.slice(0, k).map(([, i]) => i));
  return { meta: ds.meta, episodes: ds.episodes.filter((_, i) => keep.has(i)) };
}

/**
 * Draw (episode, step) pairs: the episode by `probs` (Walker's alias method, O(1) a draw), the step
 * uniformly inside it. With `episodeProbabilities` this is exactly "transition ∝ weight".
 */
export class TransitionSampler {
  private readonly prob: Float64Array;
  private readonly alias: Int32Array;
  constructor(
    readonly probs: number[],
    readonly lengths: number[],
    private readonly rng: Rng,
  ) {
    const n = probs.length;
    this.prob = new Float64Array(n);
    this.alias = new Int32Array(n);
    const scaled = probs.map((p) => p * n);
    const small: number[] = [];
    const large: number[] = [];
    scaled.forEach((p, i) => (p < 1 ? small : large).push(i));
    while (small.length && large.length) {
      const s = small.pop()!;
      const l = large.pop()!;
      this.prob[s] = scaled[s];
      this.alias[s] = l;
      scaled[l] = scaled[l] + scaled[s] - 1;
      (scaled[l] < 1 ? small : large).push(l);
    }
    for (const i of [...small, ...large]) this.prob[i] = 1;
  }

  episode(): number {
    const i = this.rng.int(this.prob.length);
    return this.rng.next() < this.prob[i] ? i : this.alias[i];
  }

  /** [episode, step] with step uniform in [0, T_episode). */
  transition(): [number, number] {
    const e = this.episode();
    return [e, this.rng.int(this.lengths[e])];
  }
}
