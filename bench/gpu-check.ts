/**
 * The batched work a GPU should speed up, on webgpu against wasm in one process (bench/gpu-check.sh
 * runs it after `embody doctor` and `embody bench learners` on every backend):
 * - DT training updates/s at the reference size (K 20, embedding 128, 3 layers, batch 64);
 * - SAC updates/s over a batch-size sweep (2×256 MLPs, obs 17, act 6), batch 256 … 8192;
 * - batched policy inference (the SAC actor over a batch of observations, as over a VectorEnv),
 *   same sweep, with the pure-JS forward (what robots use) as a third column;
 * - the manipulation critic's FCN: forward over 16 rotations × 64×64, one training step.
 *
 * Usage: tsx bench/gpu-check.ts [--quick] [--out DIR] [--doctor FILE] [--learners DIR]
 * --doctor / --learners: JSON written by the shell script, folded into the result.
 * Writes DIR/<date>-gpu.json (--quick: <date>-gpu-quick.json).
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../src/core/rng.js';
import type { Episode, OfflineDataset } from '../src/data/dataset.js';
import { initBackend, type BackendReport } from '../controllers/backend.js';
import { parseSacConfig, SacLearner } from '../controllers/sac/sac.js';
import { Mlp, initWeights } from '../controllers/nn/index.js';
import { mlpSpec, NetworkRunner } from '../controllers/policy/network.js';
import { trainDt } from '../controllers/dt/train.js';
import { FcnCritic, CRITIC_CHANNELS } from '../controllers/manipulation/critic.js';
import { SyntheticEnv } from './learners.js';
import { machineInfo, table, writeBenchResult } from './results-io.js';

const OBS = 17;
const ACT = 6;

interface Timing {
  calls: number;
  msPerCall: number;
  /** The first call (shader compilation, pipeline creation, allocation), kept out of msPerCall. */
  firstCallMs: number;
}

/** One turn of the event loop: dawn.node frees GPU objects (bind groups, buffers) in finalizers that run there. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Time `f`: one untimed warm-up call, then at least `min` and at most `max` calls or until `budgetMs`. */
async function timeCalls(f: () => void | Promise<void>, opts: { min: number; max: number; budgetMs: number }): Promise<Timing> {
  const t0 = performance.now();
  await f();
  const firstCallMs = performance.now() - t0;
  let calls = 0;
  let ms = 0;
  while (calls < opts.min || (calls < opts.max && ms < opts.budgetMs)) {
    await turn();
    const t = performance.now();
    await f();
    ms += performance.now() - t;
    calls++;
  }
  return { calls, msPerCall: ms / calls, firstCallMs };
}

function syntheticDataset(S: number, A: number, episodes: number, T: number): OfflineDataset {
  const rng = new Rng(5);
  const eps: Episode[] = Array.from({ length: episodes }, (_, e) => {
    const obs = Float32Array.from({ length: (T + 1) * S }, () => rng.normal());
    const act = Float32Array.from({ length: T * A }, (_, i) => Math.tanh(obs[i]));
    return {
      id: e, seed: e, source: 'synthetic', observations: obs, actions: act,
      rewards: Float64Array.from({ length: T }, () => rng.normal()), terminations: new Uint8Array(T),
      truncations: Uint8Array.from({ length: T }, (_, i) => (i === T - 1 ? 1 : 0)), endReason: 'time-limit', metrics: {},
    };
  });
  return { meta: { datasetId: 'synthetic', taskId: 'synthetic', scene: 'synthetic', obsDim: S, actDim: A, observationSpace: null, actionSpace: null, controlPeriod: 0.05, maxEpisodeSteps: T }, episodes: eps };
}

/** DT updates/s: time between successive per-update logs, the first (compilation) left out. */
async function dtUpdatesPerSec(batch: number, updates: number) {
  const ds = syntheticDataset(OBS, ACT, 16, 100);
  const stamps: number[] = [];
  const cfg = { K: 20, embed: 128, layers: 3, heads: 1, batch, updates, warmupSteps: 1, dropout: 0.1 };
  await trainDt(ds, cfg, { seed: 1, logEvery: 1, onLog: () => stamps.push(performance.now()) });
  const timed = stamps.length - 1;
  return { config: cfg, updatesTimed: timed, updatesPerSec: timed > 0 ? timed / ((stamps[stamps.length - 1] - stamps[0]) / 1000) : null };
}

async function sacAtBatch(batch: number, max: number, budgetMs: number) {
  const config = parseSacConfig({ hidden: [256, 256], batchSize: batch, learningStarts: batch, bufferSize: batch, logEvery: 1e9 }, 'sac');
  const learner = new SacLearner(new SyntheticEnv(), 0, config, 'sac');
  await learner.learn(batch, { log() {}, episode() {} }); // fills the buffer with random actions, no update yet
  const t = await timeCalls(() => learner.update(), { min: 1, max, budgetMs });
  learner.dispose();
  return { batch, ...t, updatesPerSec: 1000 / t.msPerCall, samplesPerSec: (1000 * batch) / t.msPerCall };
}

const actorSpec = mlpSpec({ inputSize: OBS, hidden: [256, 256], outputSize: 2 * ACT });

async function inferenceAtBatch(batch: number, max: number, budgetMs: number) {
  const weights = initWeights(actorSpec, new Rng(2));
  const net = new Mlp(actorSpec, weights, 'bench-actor');
  const rng = new Rng(3);
  const obs = Float32Array.from({ length: batch * OBS }, () => rng.normal());
  const t = await timeCalls(
    () => {
      tf.tidy(() => net.apply(tf.tensor2d(obs, [batch, OBS]), null, { noGrad: true }).dataSync());
    },
    { min: 2, max, budgetMs },
  );
  net.dispose();
  return { batch, ...t, obsPerSec: (1000 * batch) / t.msPerCall };
}

/** The pure-JS forward (policy artifact, robots), one observation at a time over the batch. */
function jsInferenceAtBatch(batch: number, budgetMs: number) {
  const runner = new NetworkRunner(actorSpec, initWeights(actorSpec, new Rng(2)));
  const rng = new Rng(3);
  const obs = Array.from({ length: 64 }, () => Float32Array.from({ length: OBS }, () => rng.normal()));
  const t0 = performance.now();
  let n = 0;
  while (n < batch && performance.now() - t0 < budgetMs) runner.forward(obs[n++ % 64]);
  const ms = (performance.now() - t0) / n;
  return { batch, msPerCall: ms * batch, obsPerSec: 1000 / ms };
}

async function fcnCritic(max: number, budgetMs: number) {
  const P = 64;
  const R = 16;
  const critic = new FcnCritic(P, new Rng(4));
  const rng = new Rng(6);
  const input = Float32Array.from({ length: R * P * P * CRITIC_CHANNELS }, () => rng.uniform(0, 1));
  const forward = await timeCalls(() => void critic.predict(input, R), { min: 1, max, budgetMs });
  const batch = 16;
  const picked = Int32Array.from({ length: batch }, () => Math.floor(rng.next() * P * P * 2));
  const labels = Float32Array.from({ length: batch }, () => rng.uniform(0, 1));
  const trainStep = await timeCalls(() => void critic.train(input, batch, picked, labels), { min: 1, max, budgetMs });
  critic.dispose();
  return { mapSize: P, rotations: R, forward, trainBatch: batch, trainStep };
}

interface Section {
  backend: string;
  report: Pick<BackendReport, 'backend' | 'selected' | 'notes' | 'adapter'> | null;
  error?: string;
  dt?: Awaited<ReturnType<typeof dtUpdatesPerSec>>;
  sac?: Awaited<ReturnType<typeof sacAtBatch>>[];
  inference?: Awaited<ReturnType<typeof inferenceAtBatch>>[];
  fcn?: Awaited<ReturnType<typeof fcnCritic>>;
}

function readJsonDir(dir: string | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!dir || !existsSync(dir)) return out;
  for (const f of readdirSync(dir).sort()) if (f.endsWith('.json')) out[f.replace(/\.json$/, '')] = JSON.parse(readFileSync(path.join(dir, f), 'utf8'));
  return out;
}

export async function runGpuCheck(opts: { quick: boolean; outDir: string; doctorFile?: string; learnersDir?: string }): Promise<string> {
  const { quick } = opts;
  const batches = quick ? [256, 512] : [256, 512, 1024, 2048, 4096, 8192];
  const inferBatches = quick ? [256, 1024, 8192] : [256, 512, 1024, 2048, 4096, 8192];
  const perPoint = quick ? { max: 2, budgetMs: 2_000 } : { max: 20, budgetMs: 4_000 };
  const loadBefore = os.loadavg();
  const sections: Section[] = [];
  for (const backend of ['webgpu', 'wasm']) {
    const s: Section = { backend, report: null };
    sections.push(s);
    try {
      const r = await initBackend(backend);
      s.report = { backend: r.backend, selected: r.selected, notes: r.notes, adapter: r.adapter };
    } catch (err) {
      s.error = String((err as Error).message ?? err).split('\n')[0];
      console.log(`${backend}: not loaded (${s.error})`);
      continue;
    }
    console.log(`${backend}: DT training ...`);
    s.dt = await dtUpdatesPerSec(quick ? 8 : 64, quick ? 3 : 30);
    console.log(`${backend}: SAC batch sweep ...`);
    s.sac = [];
    for (const b of batches) s.sac.push(await sacAtBatch(b, perPoint.max, perPoint.budgetMs));
    console.log(`${backend}: batched inference sweep ...`);
    s.inference = [];
    for (const b of inferBatches) s.inference.push(await inferenceAtBatch(b, quick ? 5 : 50, perPoint.budgetMs));
    console.log(`${backend}: manipulation critic FCN ...`);
    s.fcn = await fcnCritic(quick ? 2 : 10, perPoint.budgetMs);
  }
  const js = inferBatches.map((b) => jsInferenceAtBatch(b, 2_000));
  const loadAfter = os.loadavg();

  const [gpu, wasm] = sections;
  const f1 = (x: number | null | undefined) => (x == null ? '—' : x >= 100 ? x.toFixed(0) : x.toFixed(2));
  console.log(`\nbench/gpu-check${quick ? ' --quick' : ''} · webgpu on ${gpu.report?.adapter?.description ?? gpu.error ?? '?'}`);
  console.log(table([{ what: `DT updates/s (K 20, embed 128, 3 layers, batch ${gpu.dt?.config.batch ?? wasm.dt?.config.batch})`, webgpu: f1(gpu.dt?.updatesPerSec), wasm: f1(wasm.dt?.updatesPerSec) }]));
  console.log(table(batches.map((b, i) => ({ 'SAC batch': b, 'webgpu updates/s': f1(gpu.sac?.[i]?.updatesPerSec), 'wasm updates/s': f1(wasm.sac?.[i]?.updatesPerSec) }))));
  console.log(table(inferBatches.map((b, i) => ({ 'inference batch': b, 'webgpu obs/s': f1(gpu.inference?.[i]?.obsPerSec), 'wasm obs/s': f1(wasm.inference?.[i]?.obsPerSec), 'pure-JS obs/s': f1(js[i].obsPerSec) }))));
  console.log(table([
    { 'FCN critic (16 × 64×64)': 'forward ms', webgpu: f1(gpu.fcn?.forward.msPerCall), wasm: f1(wasm.fcn?.forward.msPerCall) },
    { 'FCN critic (16 × 64×64)': 'train step ms (batch 16)', webgpu: f1(gpu.fcn?.trainStep.msPerCall), wasm: f1(wasm.fcn?.trainStep.msPerCall) },
  ]));
  console.log(`load average before/after: ${loadBefore[0].toFixed(2)} / ${loadAfter[0].toFixed(2)}`);

  const doctor = opts.doctorFile && existsSync(opts.doctorFile) ? JSON.parse(readFileSync(opts.doctorFile, 'utf8')) : null;
  const file = writeBenchResult(opts.outDir, quick ? 'gpu-quick' : 'gpu', {
    quick,
    command: `bash bench/gpu-check.sh${quick ? ' --quick' : ''}`,
    machine: machineInfo(),
    loadavg: { before: loadBefore, after: loadAfter },
    doctor,
    learners: readJsonDir(opts.learnersDir),
    backends: sections,
    pureJsInference: js,
  });
  console.log(`wrote ${file}`);
  return file;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  await runGpuCheck({ quick: process.argv.includes('--quick'), outDir: arg('--out') ?? 'bench/results', doctorFile: arg('--doctor'), learnersDir: arg('--learners') });
}
