import { existsSync } from 'node:fs';
import path from 'node:path';
import type { DtConfig } from '../controllers/dt/config.js';
import { DtController } from '../controllers/dt/infer.js';
import type { TrainedDt } from '../controllers/dt/train.js';
import { collect } from '../src/experiment/collect.js';
import type { OfflineDataset } from '../src/data/dataset.js';
import { readDataset } from '../src/data/minari.js';
import { parseMix } from '../src/data/mix.js';

/**
 * What `npm run check:offline` and its η sweep (bench/offline-eta-sweep.ts) share: the mixed
 * datasets, the cut-down DT/CRDT settings and the evaluation budget, so that the sweep's rows are
 * the check's rows at other η.
 */
export const SEEDS = [0, 1, 2];
export const MIX = 'tour:0.1,greedy+noise1.0:0.1,random:0.5,hover:0.3';
export const ROOT = 'test-output/check-offline';
/** η picked by `npx tsx bench/offline-eta-sweep.ts` (its rule and figures: the README, 2026-12-01-offline-eta-sweep.json). */
export const SWEPT_ETA = 0.01;
/**
 * Critic TD updates before the actor trains: 5000, ≈ 17× the DT's 300 updates (issue 15: ≥ 10×;
 * the paper's ~10⁵ joint updates do not fit 2 cores). Q's mean on uav-small levels off by ~5000.
 */
export const CRITIC_PRETRAIN = 5000;

export function offlineSettings(quick: boolean, eta: number) {
  const DT: Partial<DtConfig> = { K: 10, embed: 64, layers: 2, heads: 1, batch: 32, updates: quick ? 60 : 300, warmupSteps: quick ? 10 : 40, lr: 6e-4, dropout: 0.1 };
  const CRDT: Partial<DtConfig> = { ...DT, eta, nStep: 5, criticHidden: 128, criticPretrain: quick ? 300 : CRITIC_PRETRAIN };
  const FINETUNE_UPDATES = quick ? 40 : 200;
  return {
    SMALL_EPISODES: quick ? 30 : 100,
    CITY_EPISODES: quick ? 12 : 40,
    EVAL_EPISODES: quick ? 2 : 5,
    CITY_EVAL_EPISODES: quick ? 2 : 3,
    DT,
    CRDT,
    /** uav-city from scratch (and the LoRA fine-tune): the same data and number of updates. */
    CITY_CRDT: { ...CRDT, updates: FINETUNE_UPDATES, warmupSteps: 10 } as Partial<DtConfig>,
    FINETUNE_UPDATES,
    BC_UPDATES: quick ? 200 : 1500,
  };
}

/** The check's dataset of `scene` (collected on first use, seed 10 000). */
export async function offlineDataset(scene: string, name: string, episodes: number): Promise<OfflineDataset> {
  const out = path.join(ROOT, name);
  if (!existsSync(path.join(out, 'card.json'))) await collect({ scene, sources: parseMix(MIX), episodes, seed: 10_000, out, chunkSize: 20 });
  return readDataset(out);
}

export async function offlineDatasets(quick: boolean) {
  const { SMALL_EPISODES, CITY_EPISODES } = offlineSettings(quick, 0);
  const small = await offlineDataset('uav-small', `uav-small-mixed-${SMALL_EPISODES}`, SMALL_EPISODES);
  const city = await offlineDataset('uav-city', `uav-city-mixed-${CITY_EPISODES}`, CITY_EPISODES);
  return { small, city };
}

/** A trained DT/CRDT as the check evaluates it: conditioned on the dataset's best return. */
export function dtEval(m: TrainedDt) {
  return new DtController(m, m.targetReturn, 'cached');
}

/** The evaluation seed of a training seed (the same episodes for every method of that seed). */
export const evalSeed = (seed: number) => 50_000 + 100 * seed;
