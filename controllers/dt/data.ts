import { Rng } from '../../src/core/rng.js';
import type { OfflineDataset } from '../../src/data/dataset.js';
import { episodeLength, episodeReturn, observationStats, returnToGo } from '../../src/data/dataset.js';
import { episodeProbabilities, TransitionSampler, type Weighting } from '../../src/data/weighting.js';

/**
 * Batches of K-step segments for the decision transformer (reference code kzl/decision-transformer):
 * a start step drawn by the sampler (∝ length, or RW/AW weights), up to K steps, left-padded
 * (states 0, actions −10, RTG 0, mask 0), states normalised by the dataset mean/std, RTG ÷ scale.
 * For CRDT each real position also carries its n-step return and where its bootstrap state sits.
 */
export interface SegmentBatch {
  B: number;
  K: number;
  states: Float32Array;
  actions: Float32Array;
  rtg: Float32Array;
  timesteps: Int32Array;
  mask: Float32Array;
  /** CRDT: Σ_{i<n} γ^i r_{t+i}, the discount γ^k to the bootstrap, and its segment position (−1: none). */
  nstepReturn: Float32Array;
  bootDiscount: Float32Array;
  bootIndex: Int32Array;
  /** 1 where the critic has a target (real step whose bootstrap is inside the segment or terminal). */
  criticMask: Float32Array;
}

export class SegmentSampler {
  readonly obsMean: Float32Array;
  readonly obsStd: Float32Array;
  readonly rtgScale: number;
  private readonly rtgs: Float64Array[];
  private readonly sampler: TransitionSampler;
  private readonly normObs: Float32Array[];

  constructor(
    readonly ds: OfflineDataset,
    readonly K: number,
    weighting: Weighting,
    rng: Rng,
    opts: { rtgScale?: number; obsMean?: Float32Array; obsStd?: Float32Array; rewardScale?: number } = {},
  ) {
    const st = opts.obsMean && opts.obsStd ? { mean: opts.obsMean, std: opts.obsStd } : observationStats(ds);
    this.obsMean = st.mean;
    this.obsStd = st.std;
    const maxAbs = Math.max(...ds.episodes.map((e) => Math.abs(episodeReturn(e))), 1e-6);
    this.rtgScale = opts.rtgScale && opts.rtgScale > 0 ? opts.rtgScale : maxAbs;
    this.rtgs = ds.episodes.map((e) => returnToGo(e.rewards));
    const d = ds.meta.obsDim;
    this.normObs = ds.episodes.map((e) => {
      const o = new Float32Array(e.observations.length);
      for (let i = 0; i < o.length; i++) o[i] = (e.observations[i] - this.obsMean[i % d]) / this.obsStd[i % d];
      return o;
    });
    const lengths = ds.episodes.map(episodeLength);
    this.sampler = new TransitionSampler(episodeProbabilities(ds, weighting), lengths, rng);
  }

  sample(B: number, crdt?: { nStep: number; gamma: number; rewardScale: number }): SegmentBatch {
    const { K, ds } = this;
    const S = ds.meta.obsDim;
    const A = ds.meta.actDim;
    const b: SegmentBatch = {
      B,
      K,
      states: new Float32Array(B * K * S),
      actions: new Float32Array(B * K * A).fill(-10),
      rtg: new Float32Array(B * K),
      timesteps: new Int32Array(B * K),
      mask: new Float32Array(B * K),
      nstepReturn: new Float32Array(B * K),
      bootDiscount: new Float32Array(B * K),
      bootIndex: new Int32Array(B * K).fill(-1),
      criticMask: new Float32Array(B * K),
    };
    for (let i = 0; i < B; i++) {
      const [e, si] = this.sampler.transition();
      const ep = ds.episodes[e];
      const T = episodeLength(ep);
      const len = Math.min(K, T - si);
      const pad = K - len;
      for (let j = 0; j < len; j++) {
        const t = si + j;
        const p = i * K + pad + j;
        b.states.set(this.normObs[e].subarray(t * S, (t + 1) * S), p * S);
        b.actions.set(ep.actions!.subarray(t * A, (t + 1) * A), p * A);
        b.rtg[p] = this.rtgs[e][t] / this.rtgScale;
        b.timesteps[p] = t;
        b.mask[p] = 1;
        if (crdt) {
          const { nStep, gamma, rewardScale } = crdt;
          let g = 0;
          let k = 0;
          let terminal = false;
          for (; k < nStep && t + k < T; k++) {
            g += gamma ** k * ep.rewards[t + k] * rewardScale;
            if (ep.terminations[t + k]) {
              terminal = true;
              k++;
              break;
            }
          }
          b.nstepReturn[p] = g;
          if (terminal) {
            b.criticMask[p] = 1;
          } else if (j + k < len) {
            b.bootIndex[p] = p + k;
            b.bootDiscount[p] = gamma ** k;
            b.criticMask[p] = 1;
          }
        }
      }
    }
    return b;
  }
}
