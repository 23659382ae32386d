import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { initBackend } from '../controllers/backend.js';
import { BcController } from '../controllers/dt/bc.js';
import { pretrainCritic, type CriticCurvePoint } from '../controllers/dt/critic.js';
import { trainBc, trainDt } from '../controllers/dt/train.js';
import { stats } from '../src/data/dataset.js';
import { evaluateOffline, type OfflineEval } from '../src/data/evaluate.js';
import { trainInverseDynamics } from '../controllers/dt/inverse-dynamics.js';
import { topEpisodes } from '../src/data/weighting.js';
import { parseSweepSpec } from '../src/jobs/spec.js';
import { runSweep } from '../src/jobs/sweep.js';
import type { TrialFunction } from '../src/jobs/trial.js';
import { dtEval, evalSeed as evalSeedOf, MIX, offlineDatasets, offlineSettings, ROOT, SEEDS, SWEPT_ETA } from './offline-setup.js';
import { table, writeBenchResult } from './results-io.js';
import { UavDeviceSubset } from './uav-device-subset.js';

/**
 * `npm run check:offline`: offline learning on a mixed uav-small dataset (mostly poor, a few good),
 * after Hong et al. 2023 and LLM-CRDT. Prints energy efficiency and fraction collected, mean over 3
 * seeds, for BC (all), BC (top 10%), DT, DT + return weighting, CRDT at the swept η, and on uav-city
 * the uav-small CRDT zero-shot, with LoRA, and CRDT from scratch (LoRA and scratch: same data,
 * updates and pretrained critic). Also the SSORL inverse-dynamics labelling error on held-out episodes,
 * and each critic's TD-loss curve (in the JSON's `critic`).
 *
 * Cut vs the papers to fit ~20–30 min on 2 shared cores: K 10 (20), embed 64 (128), 2 layers (3),
 * batch 32 (64), a few hundred updates (100k; the critic: 5000 pretraining + 300 joint), higher lr
 * with a short warm-up, small datasets, few evaluation episodes. `--quick` cuts further (a smoke run).
 */
const argValue = (name: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const LORA_RANK = 4;
/** uav-small's device count: the zero-shot row shows the uav-small model this many of uav-city's devices. */
const SMALL_DEVICES = 6;

/**
 * The check's settings: `--quick` cuts further; `--only crdt,dt` runs a subset (keys: bc, bctop,
 * dt, dtrw, crdt, city); `--eta x` sets CRDT's η (default: SWEPT_ETA, chosen by bench/offline-eta-sweep.ts).
 * Read once in the main process and handed to each seed's job as its config.
 */
interface Settings {
  quick: boolean;
  only: string[] | null;
  eta: number;
}

/** One seed of the check (all its methods), the job of one trial of the check's sweep. */
export const runSeed: TrialFunction = async ({ seed, config }) => {
  const settings = config as unknown as Settings;
  const { EVAL_EPISODES, CITY_EVAL_EPISODES, DT, CRDT, CITY_CRDT, BC_UPDATES } = offlineSettings(settings.quick, settings.eta);
  const ETA = settings.eta;
  const want = (k: string) => !settings.only || settings.only.includes(k);
  await initBackend();
  const { small, city } = await offlineDatasets(settings.quick);
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
  const evalSeed = evalSeedOf(seed);
  const critic: Record<string, CriticCurvePoint[]> = {};
  extra.critic = { [seed]: critic };
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
  critic['uav-small'] = crdt.stats.critic?.curve ?? [];
  if (want('crdt')) record(`CRDT (η ${ETA})`, await evaluateOffline('uav-small', dtEval(crdt), EVAL_EPISODES, evalSeed));
  if (!want('city')) return { evals, extra };
  // uav-city: zero-shot (the uav-small CRDT as is, shown 6 of the 12 devices: UavDeviceSubset), LoRA
  // on the uav-small CRDT (its state embedding re-learned: the observation grows from 32 to 56
  // floats) and CRDT from scratch; LoRA and scratch on the same dataset, updates and critic.
  record('uav-city CRDT zero-shot (uav-small model)', await evaluateOffline('uav-city', new UavDeviceSubset(dtEval(crdt), SMALL_DEVICES), CITY_EVAL_EPISODES, evalSeed));
  const cityCritic = pretrainCritic(city, CITY_CRDT, seed);
  critic['uav-city'] = cityCritic.curve;
  const lora = await trainDt(city, { ...CITY_CRDT, loraRank: LORA_RANK, loraAlpha: 2 * LORA_RANK }, {
    seed,
    init: crdt.rawWeights,
    lora: true,
    alsoTrain: (n) => n === 'st_W' || n === 'st_b',
    critic: cityCritic,
  });
  extra.loraTrainableShare = lora.stats.trainableShare;
  extra.loraTrainableParams = lora.stats.trainableParams;
  extra.totalParams = lora.stats.totalParams;
  record('uav-city CRDT + LoRA (pretrained)', await evaluateOffline('uav-city', dtEval(lora), CITY_EVAL_EPISODES, evalSeed));
  const scratch = await trainDt(city, CITY_CRDT, { seed, critic: cityCritic });
  record('uav-city CRDT (scratch)', await evaluateOffline('uav-city', dtEval(scratch), CITY_EVAL_EPISODES, evalSeed));
  return { evals, extra };
};

async function main() {
  const t0 = performance.now();
  const settings: Settings = { quick: process.argv.includes('--quick'), only: argValue('--only')?.split(',') ?? null, eta: Number(argValue('--eta') ?? SWEPT_ETA) };
  const quick = settings.quick;
  const ONLY = settings.only;
  const ETA = settings.eta;
  const { EVAL_EPISODES, CITY_EVAL_EPISODES, DT, CRDT, CITY_CRDT } = offlineSettings(quick, ETA);
  await initBackend();
  // The datasets first, once: the seeds' jobs then read them.
  const { small, city } = await offlineDatasets(quick);
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
    const { critic, ...rest } = r.extra as { critic?: Record<string, unknown> };
    Object.assign(extra, rest);
    extra.critic = { ...(extra.critic as object), ...critic };
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
  const and = (a: boolean | null, b: boolean | null) => (a === null || b === null ? null : a && b);
  const [LORA, SCRATCH, ZERO] = ['uav-city CRDT + LoRA (pretrained)', 'uav-city CRDT (scratch)', 'uav-city CRDT zero-shot (uav-small model)'];
  const claims = {
    conditioningBeatsBc: beats('DT', 'BC (all)'),
    conditioningBeatsBcTop10: beats('DT', 'BC (top 10%)'),
    criticAddsOnTop: beats(crdtKey, 'DT'),
    crdtOverDtOverBc: and(beats(crdtKey, 'DT'), beats('DT', 'BC (all)')),
    loraBeatsScratch: beats(LORA, SCRATCH),
    loraBeatsZeroShot: beats(LORA, ZERO),
    scratchBeatsZeroShot: beats(SCRATCH, ZERO),
  };
  console.log(`claims here (higher efficiency, no lower fraction collected): DT > BC(all): ${claims.conditioningBeatsBc}; DT > BC(top 10%): ${claims.conditioningBeatsBcTop10}; CRDT > DT: ${claims.criticAddsOnTop}; CRDT > DT > BC(all): ${claims.crdtOverDtOverBc}`);
  console.log(`uav-city: LoRA > scratch: ${claims.loraBeatsScratch}; LoRA > zero-shot: ${claims.loraBeatsZeroShot}; scratch > zero-shot: ${claims.scratchBeatsZeroShot}`);
  for (const [seed, curves] of Object.entries((extra.critic ?? {}) as Record<string, Record<string, CriticCurvePoint[]>>)) {
    for (const [scene, c] of Object.entries(curves)) {
      if (!c.length) continue;
      const last = c[c.length - 1];
      console.log(`critic seed ${seed} ${scene}: TD loss ${c[0].tdLoss.toFixed(4)} (first ${c[0].update + 1} updates) → ${last.tdLoss.toFixed(4)} at update ${last.update + 1}; target variance ${last.targetVar.toFixed(4)}, mean Q ${last.q.toFixed(3)}`);
    }
  }
  const summary = Object.fromEntries(Object.entries(results).map(([k, ev]) => [k, { efficiency: ev.map((e) => e.summary.efficiencyBitPerJ), fractionCollected: ev.map((e) => e.summary.fractionCollected), return: ev.map((e) => e.summary.return) }]));
  const file = writeBenchResult('bench/results', `check-offline${quick ? '-quick' : ''}${ONLY ? `-${ONLY.join('+')}-eta${ETA}` : ''}`, { mix: MIX, dt: DT, crdt: CRDT, results: summary, claims, ...extra, wallSeconds: (performance.now() - t0) / 1000 });
  console.log(`→ ${file} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
