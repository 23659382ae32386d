import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { initBackend } from '../controllers/backend.js';
import { BcController } from '../controllers/dt/bc.js';
import type { DtConfig } from '../controllers/dt/config.js';
import { DtController } from '../controllers/dt/infer.js';
import { trainBc, trainDt, type TrainedDt } from '../controllers/dt/train.js';
import { collect } from '../src/experiment/collect.js';
import type { OfflineDataset } from '../src/data/dataset.js';
import { stats } from '../src/data/dataset.js';
import { evaluateOffline, type OfflineEval } from '../src/data/evaluate.js';
import { trainInverseDynamics } from '../controllers/dt/inverse-dynamics.js';
import { readDataset } from '../src/data/minari.js';
import { parseMix } from '../src/data/mix.js';
import { topEpisodes } from '../src/data/weighting.js';
import { parseSweepSpec } from '../src/jobs/spec.js';
import { runSweep } from '../src/jobs/sweep.js';
import type { TrialFunction } from '../src/jobs/trial.js';
import { table, writeBenchResult } from './results-io.js';

/**
 * `npm run check:offline`: offline learning on a mixed uav-small dataset (mostly poor, a few good),
 * after Hong et al. 2023 and LLM-CRDT. Prints energy efficiency and fraction collected, mean over 3
 * seeds, for BC (all), BC (top 10%), DT, DT + return weighting, CRDT, and CRDT + LoRA on uav-city from
 * uav-small pretraining vs training on uav-city from scratch with the same data and updates.
 * Also the SSORL inverse-dynamics labelling error on held-out labelled episodes.
 *
 * Cut vs the papers to fit ~20–30 min on 2 shared cores: K 10 (20), embed 64 (128), 2 layers (3),
 * batch 32 (64), a few hundred updates (100k), higher lr with a short warm-up, small datasets, few
 * evaluation episodes. `--quick` cuts further (a smoke run).
 */
const argValue = (name: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const SEEDS = [0, 1, 2];
const MIX = 'tour:0.1,greedy+noise1.0:0.1,random:0.5,hover:0.3';
const LORA_RANK = 4;
const ROOT = 'test-output/check-offline';

/**
 * The check's settings: `--quick` cuts further; `--only crdt,dt` runs a subset (keys: bc, bctop,
 * dt, dtrw, crdt, city); `--eta x` sets CRDT's η (default 0.1: η = 1 hurt here, see README).
 * Read once in the main process and handed to each seed's job as its config.
 */
interface Settings {
  quick: boolean;
  only: string[] | null;
  eta: number;
}

function derived({ quick, eta }: Settings) {
  const DT: Partial<DtConfig> = { K: 10, embed: 64, layers: 2, heads: 1, batch: 32, updates: quick ? 60 : 300, warmupSteps: quick ? 10 : 40, lr: 6e-4, dropout: 0.1 };
  return {
    SMALL_EPISODES: quick ? 30 : 100,
    CITY_EPISODES: quick ? 12 : 40,
    EVAL_EPISODES: quick ? 2 : 5,
    CITY_EVAL_EPISODES: quick ? 2 : 3,
    DT,
    CRDT: { ...DT, eta, nStep: 5, criticHidden: 128 } as Partial<DtConfig>,
    FINETUNE_UPDATES: quick ? 40 : 200,
    BC_UPDATES: quick ? 200 : 1500,
  };
}

async function dataset(scene: string, name: string, episodes: number): Promise<OfflineDataset> {
  const out = path.join(ROOT, name);
  if (!existsSync(path.join(out, 'card.json'))) await collect({ scene, sources: parseMix(MIX), episodes, seed: 10_000, out, chunkSize: 20 });
  return readDataset(out);
}

function dtEval(m: TrainedDt) {
  return new DtController(m, m.targetReturn, 'cached');
}

/** One seed of the check (all its methods), the job of one trial of the check's sweep. */
export const runSeed: TrialFunction = async ({ seed, config }) => {
  const settings = config as unknown as Settings;
  const { SMALL_EPISODES, CITY_EPISODES, EVAL_EPISODES, CITY_EVAL_EPISODES, DT, CRDT, FINETUNE_UPDATES, BC_UPDATES } = derived(settings);
  const ETA = settings.eta;
  const want = (k: string) => !settings.only || settings.only.includes(k);
  await initBackend();
  const small = await dataset('uav-small', `uav-small-mixed-${SMALL_EPISODES}`, SMALL_EPISODES);
  const city = await dataset('uav-city', `uav-city-mixed-${CITY_EPISODES}`, CITY_EPISODES);
  const top = topEpisodes(small, 0.1);
  const t0 = performance.now();
  const evals: Record<string, OfflineEval['summary']> = {};
  const extra: Record<string, unknown> = {};
  const record = (name: string, e: OfflineEval) => {
    evals[name] = e.summary;
    const s = e.summary;
    console.log(`  seed ${seed} ${name.padEnd(30)} eff ${s.efficiencyBitPerJ.toFixed(0).padStart(6)} bit/J  collected ${(100 * s.fractionCollected).toFixed(1).padStart(5)}%  return ${s.return.toFixed(1)}  (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  };
  console.log(`seed ${seed}`);
  const evalSeed = 50_000 + 100 * seed;
  if (want('bc')) {
    const bcAll = await trainBc(small, { seed, updates: BC_UPDATES });
    record('BC (all)', await evaluateOffline('uav-small', new BcController(bcAll), EVAL_EPISODES, evalSeed));
  }
  if (want('bctop')) {
    const bcTop = await trainBc(top, { seed, updates: BC_UPDATES });
    record('BC (top 10%)', await evaluateOffline('uav-small', new BcController(bcTop), EVAL_EPISODES, evalSeed));
  }
  if (want('dt')) {
    const dt = await trainDt(small, DT, { seed });
    record('DT', await evaluateOffline('uav-small', dtEval(dt), EVAL_EPISODES, evalSeed));
  }
  if (want('dtrw')) {
    const dtRw = await trainDt(small, { ...DT, weighting: 'return' }, { seed });
    record('DT + RW', await evaluateOffline('uav-small', dtEval(dtRw), EVAL_EPISODES, evalSeed));
  }
  if (!want('crdt') && !want('city')) return { evals, extra };
  const crdt = await trainDt(small, CRDT, { seed });
  if (want('crdt')) record(`CRDT (η ${ETA})`, await evaluateOffline('uav-small', dtEval(crdt), EVAL_EPISODES, evalSeed));
  if (!want('city')) return { evals, extra };
  // uav-city: LoRA on the uav-small CRDT (its state embedding re-learned: the observation grows
  // from 32 to 56 floats) vs CRDT from scratch, same dataset and the same number of updates.
  const lora = await trainDt(city, { ...CRDT, updates: FINETUNE_UPDATES, warmupSteps: 10, loraRank: LORA_RANK, loraAlpha: 2 * LORA_RANK }, {
    seed,
    init: crdt.rawWeights,
    lora: true,
    alsoTrain: (n) => n === 'st_W' || n === 'st_b',
  });
  extra.loraTrainableShare = lora.stats.trainableShare;
  extra.loraTrainableParams = lora.stats.trainableParams;
  extra.totalParams = lora.stats.totalParams;
  record('uav-city CRDT + LoRA (pretrained)', await evaluateOffline('uav-city', dtEval(lora), CITY_EVAL_EPISODES, evalSeed));
  const scratch = await trainDt(city, { ...CRDT, updates: FINETUNE_UPDATES, warmupSteps: 10 }, { seed });
  record('uav-city CRDT (scratch)', await evaluateOffline('uav-city', dtEval(scratch), CITY_EVAL_EPISODES, evalSeed));
  return { evals, extra };
};

async function main() {
  const t0 = performance.now();
  const settings: Settings = { quick: process.argv.includes('--quick'), only: argValue('--only')?.split(',') ?? null, eta: Number(argValue('--eta') ?? 0.1) };
  const quick = settings.quick;
  const ONLY = settings.only;
  const ETA = settings.eta;
  const { SMALL_EPISODES, CITY_EPISODES, EVAL_EPISODES, CITY_EVAL_EPISODES, DT, CRDT } = derived(settings);
  await initBackend();
  // The datasets first, once: the seeds' jobs then read them.
  const small = await dataset('uav-small', `uav-small-mixed-${SMALL_EPISODES}`, SMALL_EPISODES);
  const city = await dataset('uav-city', `uav-city-mixed-${CITY_EPISODES}`, CITY_EPISODES);
  const rets = small.episodes.map((e) => e.rewards.reduce((a, b) => a + b, 0));
  console.log(`uav-small dataset: ${small.episodes.length} episodes (${MIX}), return ${stats(rets).mean.toFixed(1)} (max ${stats(rets).max.toFixed(1)}); uav-city: ${city.episodes.length} episodes`);

  // The seeds run as a sweep on the local pool of worker processes (`--workers 1`: one after another).
  const workers = argValue('--workers');
  const sweep = await runSweep({
    spec: parseSweepSpec({ name: 'check-offline', command: 'function', module: 'bench/check-offline.ts', export: 'runSeed', seeds: SEEDS, config: { ...settings } }),
    out: path.join(ROOT, 'sweeps'),
    workers: workers ? Number(workers) : undefined,
  });
  const results: Record<string, { summary: OfflineEval['summary'] }[]> = {};
  const extra: Record<string, unknown> = {};
  for (const t of sweep.state.trials) {
    if (t.status !== 'done') throw new Error(`check-offline seed ${t.seed} failed: ${t.error}`);
    const r = t.summary as { evals: Record<string, OfflineEval['summary']>; extra: Record<string, unknown> };
    for (const [name, summary] of Object.entries(r.evals)) (results[name] ??= []).push({ summary });
    Object.assign(extra, r.extra);
  }
  // SSORL: hold out 10% of the labelled uav-small episodes; labelling error there.
  if (!ONLY) {
    const idm = await trainInverseDynamics(small, { seed: 0, updates: quick ? 200 : 1000 });
    extra.inverseDynamics = { heldOutMse: idm.heldOutMse, meanActionBaselineMse: idm.baselineMse, trainEpisodes: idm.trainEpisodes, heldOutEpisodes: idm.heldOutEpisodes };
    idm.dispose();
  }

  const rows = Object.entries(results).map(([name, evals]) => {
    const eff = evals.map((e) => e.summary.efficiencyBitPerJ);
    const frac = evals.map((e) => e.summary.fractionCollected);
    return {
      method: name,
      'efficiency bit/J': `${stats(eff).mean.toFixed(0)} ± ${stats(eff).std.toFixed(0)}`,
      'collected %': `${(100 * stats(frac).mean).toFixed(1)} ± ${(100 * stats(frac).std).toFixed(1)}`,
      return: `${stats(evals.map((e) => e.summary.return)).mean.toFixed(1)}`,
      seeds: evals.length,
    };
  });
  console.log(`\ncheck:offline (${quick ? 'quick' : 'full'}): mean ± std over ${SEEDS.length} seeds, ${EVAL_EPISODES} (uav-small) / ${CITY_EVAL_EPISODES} (uav-city) evaluation episodes each`);
  console.log(table(rows));
  if (extra.loraTrainableShare !== undefined) console.log(`LoRA rank ${LORA_RANK}: ${extra.loraTrainableParams as number} of ${extra.totalParams as number} parameters trainable (${(100 * (extra.loraTrainableShare as number)).toFixed(1)}%, including the re-learned state embedding)`);
  const idmR = extra.inverseDynamics as { heldOutMse: number; meanActionBaselineMse: number } | undefined;
  if (idmR) console.log(`inverse dynamics (SSORL): held-out action MSE ${idmR.heldOutMse.toFixed(4)} vs ${idmR.meanActionBaselineMse.toFixed(4)} for the mean action`);
  const m = (k: string) => (results[k] ? stats(results[k].map((e) => e.summary.efficiencyBitPerJ)).mean : NaN);
  const f = (k: string) => (results[k] ? stats(results[k].map((e) => e.summary.fractionCollected)).mean : NaN);
  const crdtKey = `CRDT (η ${ETA})`;
  // A claim holds when the method has higher efficiency and no lower fraction collected; null = not run.
  const beats = (a: string, b: string) => (results[a] && results[b] ? m(a) > m(b) && f(a) >= f(b) : null);
  const claims = {
    conditioningBeatsBc: beats('DT', 'BC (all)'),
    conditioningBeatsBcTop10: beats('DT', 'BC (top 10%)'),
    criticAddsOnTop: beats(crdtKey, 'DT'),
    loraBeatsScratch: beats('uav-city CRDT + LoRA (pretrained)', 'uav-city CRDT (scratch)'),
  };
  console.log(`claims here (higher efficiency, no lower fraction collected): DT > BC(all): ${claims.conditioningBeatsBc}; DT > BC(top 10%): ${claims.conditioningBeatsBcTop10}; CRDT > DT: ${claims.criticAddsOnTop}; LoRA > scratch on uav-city: ${claims.loraBeatsScratch}`);
  const summary = Object.fromEntries(Object.entries(results).map(([k, ev]) => [k, { efficiency: ev.map((e) => e.summary.efficiencyBitPerJ), fractionCollected: ev.map((e) => e.summary.fractionCollected), return: ev.map((e) => e.summary.return) }]));
  const file = writeBenchResult('bench/results', `check-offline${quick ? '-quick' : ''}${ONLY ? `-${ONLY.join('+')}-eta${ETA}` : ''}`, { mix: MIX, dt: DT, crdt: CRDT, results: summary, claims, ...extra, wallSeconds: (performance.now() - t0) / 1000 });
  console.log(`→ ${file} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
