import type { Controller } from '../core/controller.js';
import type { FrameSink } from '../core/frames.js';
import type { TaskEnv } from '../../sim/task-env.js';
import { formatNumber } from '../core/format.js';

/**
 * Run whole episodes of a controller in an env. Episode i is reset with seed `seed + i`,
 * so any single episode can be reproduced alone, on the simulator or over MQTT.
 */
export interface EpisodeResult {
  episode: number;
  seed: number;
  return: number;
  length: number;
  endReason: string;
  metrics: Record<string, number>;
  wallSeconds: number;
}

export interface RolloutOptions {
  env: TaskEnv;
  controller: Controller;
  episodes: number;
  seed: number;
  sinks?: FrameSink[];
  /** Called after each step (progress bars). */
  onStep?: () => void;
  onEpisode?: (r: EpisodeResult) => void | Promise<void>;
}

export async function runEpisodes(opts: RolloutOptions): Promise<EpisodeResult[]> {
  const { env, controller, sinks = [] } = opts;
  const results: EpisodeResult[] = [];
  for (let ep = 0; ep < opts.episodes; ep++) {
    const t0 = performance.now();
    const seed = opts.seed + ep;
    let { obs } = env.reset({ seed });
    controller.reset();
    // Described after each reset: some worlds (manipulation clutter) change between episodes.
    if (sinks.length) {
      const desc = env.describe();
      for (const s of sinks) await s.describe(desc);
      for (const s of sinks) await s.frame(env.frame(ep));
    }
    for (;;) {
      const action = controller.act(obs, controller.privileged ? env.state : undefined);
      const r = env.step(action);
      controller.observeReward?.(r.reward);
      obs = r.obs;
      if (sinks.length) for (const s of sinks) await s.frame(env.frame(ep));
      opts.onStep?.();
      if (r.terminated || r.truncated) {
        const stats = r.info.episode as { return: number; length: number; metrics: Record<string, number> };
        const result: EpisodeResult = {
          episode: ep,
          seed,
          return: stats.return,
          length: stats.length,
          endReason: String(r.info.endReason ?? (r.truncated ? 'time-limit' : 'terminated')),
          metrics: stats.metrics,
          wallSeconds: (performance.now() - t0) / 1000,
        };
        results.push(result);
        for (const s of sinks) await s.endEpisode?.(ep, { return: stats.return, length: stats.length, ...stats.metrics });
        await opts.onEpisode?.(result);
        break;
      }
    }
  }
  return results;
}

/** Mean and population std (divide by n, as numpy's default and SB3's evaluate_policy) of each figure over episodes. */
export function summarise(results: EpisodeResult[]): Record<string, { mean: number; std: number }> {
  const rows = results.map((r) => ({ return: r.return, length: r.length, ...r.metrics }));
  const keys = rows.length ? Object.keys(rows[0]) : [];
  const out: Record<string, { mean: number; std: number }> = {};
  for (const k of keys) {
    const xs = rows.map((r) => (r as Record<string, number>)[k]);
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const std = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
    out[k] = { mean, std };
  }
  return out;
}

/** A plain-text table of mean ± population std, one figure per row, numbers by formatNumber. */
export function formatSummary(summary: Record<string, { mean: number; std: number }>): string {
  const fmt = formatNumber;
  const w = Math.max(...Object.keys(summary).map((k) => k.length), 6);
  const lines = [`${'metric'.padEnd(w)}  ${'mean'.padStart(12)}  ${'± std (pop.)'.padStart(12)}`];
  for (const [k, v] of Object.entries(summary)) lines.push(`${k.padEnd(w)}  ${fmt(v.mean).padStart(12)}  ${('± ' + fmt(v.std)).padStart(12)}`);
  return lines.join('\n');
}
