import type { Episode, OfflineDataset } from './dataset.js';
import { formatNumber } from '../core/format.js';
import { episodeLength, episodeReturn } from './dataset.js';

/**
 * Trajectory signals, after "Signals: Trajectory Sampling and Triage" (katanemo), translated to
 * robots. Cheap counts over the recorded steps, no model:
 *
 * | signal      | instance                                                                          |
 * | ----------- | --------------------------------------------------------------------------------- |
 * | loop        | re-entering a pose cell already visited with no task progress since; or 3 heading  |
 * |             | flip-flops (consecutive horizontal commands pointing > 120° apart)                 |
 * | stagnation  | each block of `stagnationSteps` steps with no progress (no data collected)         |
 * | exhaustion  | battery empty, time limit, NaN in the observation                                  |
 * | failure     | crash, geofence breach (grasp miss for manipulation)                               |
 * | safety      | each entry into the geofence margin or below the low-altitude floor                |
 *
 * Severity per signal (the paper's): 0 instances → 0; 1–2 → 1; 3–4 → 2; 5 or more → 3.
 * `triage` ranks episodes by summed severity (most informative first), ties by lower return.
 */
export const SIGNALS = ['loop', 'stagnation', 'exhaustion', 'failure', 'safety'] as const;
export type SignalName = (typeof SIGNALS)[number];

export interface SignalReport {
  episode: number;
  source: string;
  return: number;
  length: number;
  endReason: string;
  counts: Record<SignalName, number>;
  severity: Record<SignalName, number>;
  score: number;
}

export function severity(count: number): number {
  return count === 0 ? 0 : count <= 2 ? 1 : count <= 4 ? 2 : 3;
}

/** How to read poses and progress from a task's observation rows. */
export interface TrajectoryAdapter {
  /** Horizontal position, normalised to [-1, 1]. */
  pos(obs: Float32Array): [number, number, number];
  /** Task progress, non-decreasing when the task goes well (e.g. fraction of data collected). */
  progress(obs: Float32Array): number;
}

/** UAV data collection (sim/uav/model.ts observation layout). */
export const uavAdapter: TrajectoryAdapter = {
  pos: (o) => [o[0], o[1], o[2]],
  progress: (o) => {
    let remaining = 0;
    for (let i = 11; i < o.length; i += 4) remaining += o[i];
    return -remaining;
  },
};

/** Any task: the first two observation dimensions as a pose; no progress signal. */
export const genericAdapter: TrajectoryAdapter = { pos: (o) => [o[0], o[1] ?? 0, 0], progress: () => 0 };

export function adapterFor(taskId: string): TrajectoryAdapter {
  return taskId === 'uav-data-collection' ? uavAdapter : genericAdapter;
}

export interface SignalOptions {
  /** Pose cell size in normalised units (0.1 = 10 m in a 200 m square). */
  cell?: number;
  stagnationSteps?: number;
  /** Geofence margin in normalised units, and the low-altitude floor (normalised z). */
  margin?: number;
  lowAltitude?: number;
}

export function episodeSignals(ep: Episode, obsDim: number, actDim: number, adapter: TrajectoryAdapter, opts: SignalOptions = {}): SignalReport {
  const cell = opts.cell ?? 0.1;
  const stagN = opts.stagnationSteps ?? 50;
  const margin = opts.margin ?? 0.05;
  const lowZ = opts.lowAltitude ?? -0.9;
  const T = episodeLength(ep);
  const counts: Record<SignalName, number> = { loop: 0, stagnation: 0, exhaustion: 0, failure: 0, safety: 0 };
  const lastVisitProgress = new Map<string, number>();
  let prevCell = '';
  let sinceProgress = 0;
  let bestProgress = -Infinity;
  let flips = 0;
  let inMargin = false;
  let sawNaN = false;
  for (let t = 0; t <= T; t++) {
    const o = ep.observations.subarray(t * obsDim, (t + 1) * obsDim);
    if (!sawNaN && o.some((v) => Number.isNaN(v))) sawNaN = true;
    const [x, y, z] = adapter.pos(o);
    const p = adapter.progress(o);
    const key = `${Math.floor((x + 1) / cell)},${Math.floor((y + 1) / cell)}`;
    if (key !== prevCell) {
      const seen = lastVisitProgress.get(key);
      if (seen !== undefined && p <= seen + 1e-9) counts.loop++;
      if (prevCell) lastVisitProgress.set(prevCell, p);
      prevCell = key;
    }
    if (p > bestProgress + 1e-9) {
      bestProgress = p;
      sinceProgress = 0;
    } else if (++sinceProgress === stagN) {
      counts.stagnation++;
      sinceProgress = 0;
    }
    const near = Math.abs(x) > 1 - margin || Math.abs(y) > 1 - margin || z < lowZ;
    if (near && !inMargin) counts.safety++;
    inMargin = near;
    if (ep.actions && t >= 1 && t < T && actDim >= 2) {
      const a0 = ep.actions.subarray((t - 1) * actDim, t * actDim);
      const a1 = ep.actions.subarray(t * actDim, (t + 1) * actDim);
      const n0 = Math.hypot(a0[0], a0[1]);
      const n1 = Math.hypot(a1[0], a1[1]);
      if (n0 > 0.2 && n1 > 0.2 && (a0[0] * a1[0] + a0[1] * a1[1]) / (n0 * n1) < -0.5) flips++;
    }
  }
  counts.loop += Math.floor(flips / 3);
  if (sawNaN) counts.exhaustion++;
  if (/battery|time-limit|timeout/.test(ep.endReason)) counts.exhaustion++;
  if (/crash|geofence|grasp-miss|collision/.test(ep.endReason)) counts.failure++;
  const sev = Object.fromEntries(SIGNALS.map((s) => [s, severity(counts[s])])) as Record<SignalName, number>;
  return {
    episode: ep.id,
    source: ep.source,
    return: episodeReturn(ep),
    length: T,
    endReason: ep.endReason,
    counts,
    severity: sev,
    score: SIGNALS.reduce((a, s) => a + sev[s], 0),
  };
}

/** Signals of every episode, most informative first. */
export function triageDataset(ds: OfflineDataset, opts: SignalOptions = {}): SignalReport[] {
  const adapter = adapterFor(ds.meta.taskId);
  const reports = ds.episodes.map((e) => episodeSignals(e, ds.meta.obsDim, ds.meta.actDim, adapter, opts));
  return rank(reports);
}

export function rank(reports: SignalReport[]): SignalReport[] {
  return [...reports].sort((a, b) => b.score - a.score || a.return - b.return || a.episode - b.episode);
}

/**
 * A run directory has no per-step data (summary.json holds one row per episode), so only the
 * episode-level signals apply: exhaustion and failure from the end reason, stagnation from a low
 * fraction collected, safety from geofence/crash counts.
 */
export function triageRunEpisodes(rows: { episode: number; return: number; length: number; endReason: string; metrics: Record<string, number> }[]): SignalReport[] {
  return rank(
    rows.map((r) => {
      const counts: Record<SignalName, number> = { loop: 0, stagnation: 0, exhaustion: 0, failure: 0, safety: 0 };
      if (/battery|time-limit|timeout/.test(r.endReason)) counts.exhaustion++;
      if (/crash|geofence|grasp-miss|collision/.test(r.endReason)) counts.failure++;
      const frac = r.metrics.fractionCollected;
      if (frac !== undefined && frac < 0.5) counts.stagnation++;
      counts.safety += (r.metrics.crashes ?? 0) + (r.metrics.geofenceBreaches ?? 0);
      const sev = Object.fromEntries(SIGNALS.map((s) => [s, severity(counts[s])])) as Record<SignalName, number>;
      return { episode: r.episode, source: 'run', return: r.return, length: r.length, endReason: r.endReason, counts, severity: sev, score: SIGNALS.reduce((a, s) => a + sev[s], 0) };
    }),
  );
}

export function formatTriage(reports: SignalReport[], limit = 20): string {
  // Columns as wide as their widest cell, headers included: nothing is cut.
  const header = ['rank', 'ep', 'source', 'return', 'len', 'end', 'score', ...SIGNALS];
  const rows = reports.slice(0, limit).map((r, i) => [
    String(i + 1),
    String(r.episode),
    r.source,
    formatNumber(r.return),
    String(r.length),
    r.endReason,
    String(r.score),
    ...SIGNALS.map((s) => `${r.severity[s]}(${r.counts[s]})`),
  ]);
  const widths = header.map((h, j) => Math.max(h.length, ...rows.map((row) => row[j].length)));
  const left = new Set([2, 5]);
  const line = (cells: string[]) => cells.map((c, j) => (left.has(j) ? c.padEnd(widths[j]) : c.padStart(widths[j]))).join('  ').trimEnd();
  const legend = `each signal cell is severity(count): the count of events in the episode, and its severity 0–3 (0: none, 1: 1–2 events, 2: 3–4, 3: 5 or more); score is the sum of severities`;
  return [line(header), ...rows.map(line), legend].join('\n');
}
