import { ContractError } from '../core/errors.js';
import type { Episode } from '../data/dataset.js';
import { collect, type DatasetCard } from './collect.js';

/**
 * `collectDataset(opts)`: what `embody collect` and a sweep's `collect` trials do. It turns one
 * controller (with optional action noise) or a mix (`tour:0.2,greedy+noise:0.3,random:0.5`)
 * into sources, names the dataset after them, places it (a dataset directory, or
 * `<root>/<dataset id>` in a Minari root) and records it through collect.ts (resumable chunks).
 */
export interface CollectDatasetOptions {
  scene: string;
  /** A scripted controller or a policy directory (default `greedy`); not with `mix`. */
  controller?: string;
  /** Mixed sources, e.g. "tour:0.2,greedy+noise:0.3,random:0.5". */
  mix?: string;
  episodes: number;
  /** σ of Gaussian noise on the normalised action (and for "+noise" in a mix; default 0). */
  noise?: number;
  /** Seed of the first episode; episode i uses seed + i. */
  seed: number;
  /** Dataset directory or Minari root (default `datasets/<scene>-<sources>`). */
  out?: string;
  /** Episodes per resumable chunk (default 25). */
  chunk?: number;
  /** Minari dataset id. */
  id?: string;
  onEpisode?: (ep: Episode, done: number, total: number) => void;
}

export async function collectDataset(opts: CollectDatasetOptions): Promise<{ card: DatasetCard; resumedChunks: number; out: string }> {
  const { parseMix, sourceLabel } = await import('../data/mix.js');
  const { minariDatasetDir } = await import('../data/minari.js');
  const noise = opts.noise ?? 0;
  if (!Number.isInteger(opts.episodes) || opts.episodes <= 0) throw new ContractError(`--episodes expects a positive integer, got "${opts.episodes}"`);
  if (!Number.isInteger(opts.seed)) throw new ContractError(`--seed expects an integer, got "${opts.seed}"`);
  if (opts.mix && opts.controller) throw new ContractError('give either --controller or --mix, not both');
  const sources = opts.mix
    ? parseMix(opts.mix, noise > 0 ? noise : 0.3)
    : [{ controller: opts.controller ?? 'greedy', noise, fraction: 1, label: sourceLabel(opts.controller ?? 'greedy', noise) }];
  const name = `${opts.scene.replace(/[^A-Za-z0-9_-]+/g, '_')}-${sources.map((s) => s.label).join('_')}`;
  // `out` may be a Minari root (~/.minari/datasets): the dataset then goes to <root>/<dataset_id>.
  const placed = minariDatasetDir(opts.out || `datasets/${name}`, opts.id ?? `embody/${name.replace(/[^A-Za-z0-9_.-]+/g, '_')}-v0`);
  const datasetId = opts.id ?? (placed.inRoot ? `embody/${name.replace(/[^A-Za-z0-9_.-]+/g, '_')}-v0` : undefined);
  const { card, resumedChunks } = await collect({
    scene: opts.scene,
    sources,
    episodes: opts.episodes,
    seed: opts.seed,
    out: placed.dir,
    chunkSize: opts.chunk ?? 25,
    datasetId,
    onEpisode: opts.onEpisode,
  });
  return { card, resumedChunks, out: placed.dir };
}
