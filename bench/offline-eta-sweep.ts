import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { initBackend } from '../controllers/backend.js';
import { pretrainCritic, type CriticCurvePoint } from '../controllers/dt/critic.js';
import { trainDt, type ActorCurvePoint } from '../controllers/dt/train.js';
import { stats } from '../src/data/dataset.js';
import { evaluateOffline } from '../src/data/evaluate.js';
import { parseSweepSpec } from '../src/jobs/spec.js';
import { runSweep } from '../src/jobs/sweep.js';
import type { TrialFunction } from '../src/jobs/trial.js';
import { dtEval, evalSeed, offlineDatasets, offlineSettings, SEEDS } from './offline-setup.js';
import { table, writeBenchResult } from './results-io.js';

/**
 * `npx tsx bench/offline-eta-sweep.ts [--quick] [--workers n]`: CRDT's η over {0, 0.01, 0.1, 1}
 * (η = 0 is the plain DT) on the check's uav-small mixed data and on uav-city, 3 seeds, with
 * `npm run check:offline`'s settings (uav-city: its from-scratch row's). One critic is pretrained per
 * scene and seed and serves every η (it does not depend on η). Rule: among the η whose mean fraction
 * collected is ≥ the DT's on both scenes, the best mean over the scenes of efficiency ÷ the DT's
 * efficiency there; ties → the smaller η. Writes bench/results/<date>-offline-eta-sweep.json.
 */
export const ETAS = [0, 0.01, 0.1, 1];
const SCENES = ['uav-small', 'uav-city'] as const;
type Scene = (typeof SCENES)[number];

interface TrialResult {
  scene: Scene;
  seed: number;
  critic: { curve: CriticCurvePoint[]; pretrainSeconds: number };
  byEta: Record<string, { efficiency: number; fractionCollected: number; return: number; trainSeconds: number; jointCritic?: CriticCurvePoint[]; actor?: ActorCurvePoint[] }>;
}

/** One scene and seed: the critic once, then every η. */
export const runSceneSeed: TrialFunction = async ({ seed, config }) => {
  const { scene, quick } = config as { scene: Scene; quick: boolean };
  const s = offlineSettings(quick, 0);
  await initBackend();
  const { small, city } = await offlineDatasets(quick);
  const ds = scene === 'uav-small' ? small : city;
  const base = scene === 'uav-small' ? s.CRDT : s.CITY_CRDT;
  const episodes = scene === 'uav-small' ? s.EVAL_EPISODES : s.CITY_EVAL_EPISODES;
  const critic = pretrainCritic(ds, base, seed);
  const out: TrialResult = { scene, seed, critic: { curve: critic.curve, pretrainSeconds: critic.seconds }, byEta: {} };
  console.log(`${scene} seed ${seed}: critic pretrained (${critic.seconds.toFixed(0)} s), TD loss ${critic.curve[0].tdLoss.toFixed(4)} → ${critic.curve[critic.curve.length - 1].tdLoss.toFixed(4)}`);
  for (const eta of ETAS) {
    const m = await trainDt(ds, { ...base, eta }, { seed, critic });
    const e = (await evaluateOffline(scene, dtEval(m), episodes, evalSeed(seed))).summary;
    const joint = m.stats.critic?.curve.filter((p) => p.phase === 'joint');
    out.byEta[String(eta)] = { efficiency: e.efficiencyBitPerJ, fractionCollected: e.fractionCollected, return: e.return, trainSeconds: m.stats.seconds, jointCritic: joint, actor: m.stats.critic?.actor };
    console.log(`  ${scene} seed ${seed} η ${String(eta).padEnd(4)} eff ${e.efficiencyBitPerJ.toFixed(0).padStart(6)} bit/J  collected ${(100 * e.fractionCollected).toFixed(1).padStart(5)}%`);
  }
  return out as unknown as Record<string, unknown>;
};

/** The rule of the header comment; `perScene[scene][eta]` holds the per-seed values. */
export function chooseEta(perScene: Record<Scene, Record<string, { efficiency: number[]; fractionCollected: number[] }>>) {
  const mean = (xs: number[]) => stats(xs).mean;
  const score = (eta: number) => stats(SCENES.map((sc) => mean(perScene[sc][String(eta)].efficiency) / mean(perScene[sc]['0'].efficiency))).mean;
  const eligible = ETAS.filter((eta) => SCENES.every((sc) => mean(perScene[sc][String(eta)].fractionCollected) >= mean(perScene[sc]['0'].fractionCollected)));
  let best = 0;
  for (const eta of eligible) if (score(eta) > score(best)) best = eta;
  return { eta: best, eligible, score: Object.fromEntries(ETAS.map((eta) => [String(eta), score(eta)])) };
}

async function main() {
  const t0 = performance.now();
  const quick = process.argv.includes('--quick');
  const wi = process.argv.indexOf('--workers');
  await initBackend();
  await offlineDatasets(quick);
  const results: TrialResult[] = [];
  for (const scene of SCENES) {
    const sweep = await runSweep({
      spec: parseSweepSpec({ name: `offline-eta-${scene}`, command: 'function', module: 'bench/offline-eta-sweep.ts', export: 'runSceneSeed', seeds: SEEDS, config: { scene, quick } }),
      out: path.join('test-output/check-offline', 'eta-sweeps'),
      workers: wi >= 0 ? Number(process.argv[wi + 1]) : undefined,
    });
    for (const t of sweep.state.trials) {
      if (t.status !== 'done') throw new Error(`offline-eta-sweep ${scene} seed ${t.seed} failed: ${t.error}`);
      results.push(t.summary as unknown as TrialResult);
    }
  }
  const perScene = Object.fromEntries(
    SCENES.map((sc) => {
      const rs = results.filter((r) => r.scene === sc).sort((a, b) => a.seed - b.seed);
      return [sc, Object.fromEntries(ETAS.map((eta) => [String(eta), { seeds: rs.map((r) => r.seed), efficiency: rs.map((r) => r.byEta[String(eta)].efficiency), fractionCollected: rs.map((r) => r.byEta[String(eta)].fractionCollected), return: rs.map((r) => r.byEta[String(eta)].return) }]))];
    }),
  ) as Record<Scene, Record<string, { seeds: number[]; efficiency: number[]; fractionCollected: number[]; return: number[] }>>;
  const choice = chooseEta(perScene);
  const rows = SCENES.flatMap((sc) =>
    ETAS.map((eta) => {
      const r = perScene[sc][String(eta)];
      return { scene: sc, η: String(eta), 'efficiency bit/J': `${stats(r.efficiency).mean.toFixed(0)} ± ${stats(r.efficiency).std.toFixed(0)}`, 'collected %': `${(100 * stats(r.fractionCollected).mean).toFixed(1)} ± ${(100 * stats(r.fractionCollected).std).toFixed(1)}` };
    }),
  );
  console.log(`\noffline η sweep (${quick ? 'quick' : 'full'}): mean ± std over ${SEEDS.length} seeds (η 0 = DT)`);
  console.log(table(rows));
  console.log(`eligible (collected ≥ DT on both scenes): ${choice.eligible.join(', ')}; chosen η = ${choice.eta}`);
  const s = offlineSettings(quick, 0);
  const file = writeBenchResult('bench/results', `offline-eta-sweep${quick ? '-quick' : ''}`, {
    etas: ETAS,
    settings: { uavSmall: s.CRDT, uavCity: s.CITY_CRDT, evalEpisodes: { 'uav-small': s.EVAL_EPISODES, 'uav-city': s.CITY_EVAL_EPISODES } },
    rule: 'among η with mean fraction collected ≥ DT (η 0) on both scenes: max mean over scenes of mean efficiency / DT mean efficiency; ties → smaller η',
    results: perScene,
    choice,
    trials: results,
    wallSeconds: (performance.now() - t0) / 1000,
  });
  console.log(`→ ${file} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
