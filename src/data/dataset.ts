/**
 * In-memory offline dataset: whole episodes, as Minari stores them (observations has one more
 * row than actions: the initial and the final observation are both kept).
 *
 * Pure: imports nothing outside src/core, so controllers (the decision transformer) can use it.
 */
export interface Episode {
  id: number;
  /** Seed the episode was reset with (reproducible alone). */
  seed: number;
  /** Which source produced it, e.g. "tour", "greedy+noise0.3", "random". */
  source: string;
  /** (T + 1) × obsDim, row-major. */
  observations: Float32Array;
  /** T × actDim, row-major; `null` for action-free trajectories. */
  actions: Float32Array | null;
  /** T rewards. */
  rewards: Float64Array;
  /** T flags, 1 on the terminal step. */
  terminations: Uint8Array;
  /** T flags, 1 on the time-limit step. */
  truncations: Uint8Array;
  /** Why the episode ended (crash, all-collected, time-limit, ...). */
  endReason: string;
  /** Task metrics at the end of the episode (fractionCollected, efficiencyBitPerJ, ...). */
  metrics: Record<string, number>;
}

export interface DatasetMeta {
  /** Minari-style id, e.g. "uav-small/mixed-v0". */
  datasetId: string;
  taskId: string;
  scene: string;
  obsDim: number;
  actDim: number;
  /** Space.toJSON() of the env's spaces. */
  observationSpace: unknown;
  actionSpace: unknown;
  /** Seconds between steps. */
  controlPeriod: number;
  maxEpisodeSteps: number;
}

export interface OfflineDataset {
  meta: DatasetMeta;
  episodes: Episode[];
}

export function episodeLength(ep: Episode): number {
  return ep.rewards.length;
}

export function episodeReturn(ep: Episode): number {
  let g = 0;
  for (let i = 0; i < ep.rewards.length; i++) g += ep.rewards[i];
  return g;
}

export function totalSteps(ds: OfflineDataset): number {
  return ds.episodes.reduce((n, e) => n + episodeLength(e), 0);
}

/** Undiscounted return-to-go R̂_t = Σ_{t' ≥ t} r_t' (Chen et al. 2021), length T. */
export function returnToGo(rewards: ArrayLike<number>): Float64Array {
  const out = new Float64Array(rewards.length);
  let acc = 0;
  for (let t = rewards.length - 1; t >= 0; t--) {
    acc += rewards[t];
    out[t] = acc;
  }
  return out;
}

/** Row t of a row-major matrix with `cols` columns. */
export function row(data: Float32Array, t: number, cols: number): Float32Array {
  return data.subarray(t * cols, (t + 1) * cols);
}

/** Per-dimension mean and std of every observation in the dataset (DT normalises states by these). */
export function observationStats(ds: OfflineDataset): { mean: Float32Array; std: Float32Array } {
  const d = ds.meta.obsDim;
  const mean = new Float64Array(d);
  const sq = new Float64Array(d);
  let n = 0;
  for (const ep of ds.episodes) {
    const T = episodeLength(ep);
    for (let t = 0; t < T; t++) {
      for (let j = 0; j < d; j++) {
        const x = ep.observations[t * d + j];
        mean[j] += x;
        sq[j] += x * x;
      }
      n++;
    }
  }
  const m = new Float32Array(d);
  const s = new Float32Array(d);
  for (let j = 0; j < d; j++) {
    m[j] = mean[j] / Math.max(1, n);
    s[j] = Math.sqrt(Math.max(0, sq[j] / Math.max(1, n) - m[j] * m[j])) + 1e-6;
  }
  return { mean: m, std: s };
}

/** Summary statistics of a list of numbers (dataset cards, reports). */
export function stats(xs: number[]): { mean: number; std: number; min: number; max: number; median: number } {
  if (!xs.length) return { mean: 0, std: 0, min: 0, max: 0, median: 0 };
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const std = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, xs.length - 1));
  const sorted = [...xs].sort((a, b) => a - b);
  const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
  return { mean, std, min: sorted[0], max: sorted[sorted.length - 1], median };
}
