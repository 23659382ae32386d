import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../core/atomic.js';
import { processAlive } from './run-dir.js';
import { Rng } from '../core/rng.js';
import type { Controller } from '../core/controller.js';
import { Box } from '../core/spaces.js';
import { ValidationError } from '../core/errors.js';
import type { DatasetMeta, Episode, OfflineDataset } from '../data/dataset.js';
import { stats } from '../data/dataset.js';
import { assignSources, type SourceSpec } from '../data/mix.js';
import { MAIN_FILE, METADATA_FILE, minariMetadata, readEpisodesHdf5, writeEpisodesHdf5 } from '../data/minari.js';

/**
 * `embody collect`: record episodes of one or more controllers into a Minari-layout dataset.
 *
 * Resume (our choice): episodes are collected in chunks of `chunkSize`; each finished chunk is one
 * HDF5 file `data/.partial/chunk-<n>.hdf5` written atomically, beside `plan.json` (the sources, seeds
 * and chunk size). Episode i always uses seed `seed + i` and source `assignSources(...)[i]`, so a
 * rerun with the same arguments skips the chunks on disk and produces exactly the same dataset.
 * When every chunk is there, they are merged into `data/main_data.hdf5` + `data/metadata.json`
 * (each atomic), the card is written, and `.partial/` is removed.
 *
 * Each chunk has a record `chunk-<n>.json` (its size and sha256), written after the chunk. On resume
 * a chunk is used only when it matches its record; a damaged or unrecorded one is named in one line,
 * discarded and collected again (it is never opened, so HDF5 prints nothing). Temp files that an
 * interrupted write or merge left behind (`*.tmp-<pid>-<time>` of a process that is gone) are removed.
 */
export interface CollectOptions {
  scene: string;
  sources: SourceSpec[];
  episodes: number;
  seed: number;
  out: string;
  chunkSize?: number;
  datasetId?: string;
  onEpisode?: (ep: Episode, done: number, total: number) => void;
  /** Stop after this many chunks (tests use it to simulate an interruption). */
  maxChunks?: number;
  /** One line per damaged chunk discarded or temp file removed (default: stderr). */
  warn?: (line: string) => void;
}

export interface DatasetCard {
  format: 'embody.dataset-card/1';
  datasetId: string;
  scene: string;
  taskId: string;
  seed: number;
  episodes: number;
  steps: number;
  sources: { label: string; controller: string; noise: number; fraction: number; episodes: number; return: ReturnType<typeof stats> }[];
  return: ReturnType<typeof stats>;
  metrics: Record<string, ReturnType<typeof stats>>;
  endReasons: Record<string, number>;
  createdAt: string;
  layout: string;
}

/** A controller whose actions get N(0, σ²) noise, clipped to [-1, 1] (DESIGN: Box actions are normalised). */
function withNoise(inner: Controller, sigma: number, rng: Rng): Controller {
  if (sigma <= 0) return inner;
  return {
    kind: `${inner.kind}+noise`,
    privileged: inner.privileged,
    reset: () => inner.reset(),
    act(obs, state) {
      const a = inner.act(obs, state);
      if (typeof a === 'number') return a;
      const out = new Float32Array(a.length);
      for (let i = 0; i < a.length; i++) out[i] = Math.max(-1, Math.min(1, a[i] + sigma * rng.normal()));
      return out;
    },
  };
}

export async function collect(opts: CollectOptions): Promise<{ dataset: OfflineDataset; card: DatasetCard; resumedChunks: number }> {
  const { createEnv } = await import('../../sim/registry.js');
  const { createController } = await import('../../controllers/load.js');
  const chunkSize = opts.chunkSize ?? 25;
  const env = await createEnv(opts.scene, { seed: opts.seed });
  const spec = env.spec;
  if (!(spec.actionSpace instanceof Box)) throw new ValidationError('collect: only Box action spaces are supported so far');
  const obsDim = spec.observationSpace.size;
  const actDim = spec.actionSpace.size;
  const datasetId = opts.datasetId ?? `${spec.scene}/${path.basename(path.resolve(opts.out))}-v0`;
  const meta: DatasetMeta = {
    datasetId,
    taskId: spec.id,
    scene: spec.scene,
    obsDim,
    actDim,
    observationSpace: spec.observationSpace.toJSON(),
    actionSpace: spec.actionSpace.toJSON(),
    controlPeriod: spec.controlPeriod,
    maxEpisodeSteps: spec.maxEpisodeSteps,
  };
  const data = path.join(opts.out, 'data');
  const partial = path.join(data, '.partial');
  const plan = { scene: opts.scene, seed: opts.seed, episodes: opts.episodes, chunkSize, sources: opts.sources, datasetId };
  const planFile = path.join(partial, 'plan.json');
  const warn = opts.warn ?? ((line: string) => process.stderr.write(`embody collect: ${line}\n`));
  for (const f of [...removeStaleTemps(data), ...removeStaleTemps(partial)]) warn(`${f}: removed a temp file left by an interrupted write`);
  if (existsSync(path.join(data, METADATA_FILE)) && !existsSync(partial)) {
    throw new ValidationError(`${opts.out} already holds a finished dataset; choose another --out or delete it`);
  }
  let resumedChunks = 0;
  if (existsSync(planFile)) {
    const old = readFileSync(planFile, 'utf8');
    if (old !== JSON.stringify(plan)) throw new ValidationError(`${opts.out} holds an interrupted collection with different arguments (${planFile}); rerun with the same ones or delete it`);
  } else {
    mkdirSync(partial, { recursive: true });
    writeFileAtomic(planFile, JSON.stringify(plan));
  }

  const assignment = assignSources(opts.sources, opts.episodes);
  // Each episode gets its own controller and noise streams, seeded by its index, so an episode is
  // the same whether it was collected in one go or after a resume. Policy directories are loaded
  // once (they are deterministic and reset() clears their history).
  const { isPolicyDir } = await import('../../controllers/load.js');
  const policyCache = new Map<string, Controller>();
  const controllerFor = async (episode: number): Promise<Controller> => {
    const s = opts.sources[assignment[episode]];
    const epSeed = opts.seed + episode;
    let base = policyCache.get(s.controller);
    if (!base) {
      base = await createController(s.controller, spec, { seed: epSeed * 7919 + 17, model: env.model });
      if (isPolicyDir(s.controller)) policyCache.set(s.controller, base);
    }
    return withNoise(base, s.noise, new Rng(epSeed * 31 + 5));
  };
  const nChunks = Math.ceil(opts.episodes / chunkSize);
  const chunkFile = (c: number) => path.join(partial, `chunk-${String(c).padStart(5, '0')}.hdf5`);
  let done = 0;
  let written = 0;
  for (let c = 0; c < nChunks; c++) {
    const lo = c * chunkSize;
    const hi = Math.min(opts.episodes, lo + chunkSize);
    if (existsSync(chunkFile(c))) {
      const damage = chunkDamage(chunkFile(c));
      if (damage === null) {
        resumedChunks++;
        done += hi - lo;
        continue;
      }
      warn(`${chunkFile(c)}: ${damage}; discarded, collecting it again`);
      rmSync(chunkFile(c), { force: true });
      rmSync(recordFile(chunkFile(c)), { force: true });
    }
    if (opts.maxChunks !== undefined && written >= opts.maxChunks) break;
    const eps: Episode[] = [];
    for (let i = lo; i < hi; i++) {
      const src = opts.sources[assignment[i]];
      const ctrl = await controllerFor(i);
      const ep = runEpisode(env, ctrl, i, opts.seed + i, src.label, obsDim, actDim);
      if (!policyCache.has(src.controller)) ctrl.dispose?.();
      eps.push(ep);
      done++;
      opts.onEpisode?.(ep, done, opts.episodes);
    }
    await writeEpisodesHdf5(chunkFile(c), eps, meta);
    writeJsonAtomic(recordFile(chunkFile(c)), chunkRecord(chunkFile(c)));
    written++;
  }
  for (const c of policyCache.values()) c.dispose?.();
  env.close();
  const chunks = readdirSync(partial).filter((f) => /^chunk-\d+\.hdf5$/.test(f)).sort();
  if (chunks.length < nChunks) {
    return { dataset: { meta, episodes: [] }, card: null as unknown as DatasetCard, resumedChunks };
  }
  const episodes: Episode[] = [];
  for (const f of chunks) episodes.push(...(await readEpisodesHdf5(path.join(partial, f))).episodes);
  const dataset = { meta, episodes };
  const card = datasetCard(dataset, opts.sources, opts.seed);
  await writeEpisodesHdf5(path.join(data, MAIN_FILE), episodes, meta);
  writeJsonAtomic(path.join(data, METADATA_FILE), minariMetadata(meta, episodes, { sources: opts.sources.map((s) => s.label) }));
  writeJsonAtomic(path.join(opts.out, 'card.json'), card);
  rmSync(partial, { recursive: true, force: true });
  return { dataset, card, resumedChunks };
}

const recordFile = (chunk: string) => chunk.replace(/\.hdf5$/, '.json');
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const chunkRecord = (chunk: string) => ({ file: path.basename(chunk), bytes: statSync(chunk).size, sha256: sha256(chunk) });

/** Why a chunk on disk cannot be used (null: it matches its record). */
function chunkDamage(chunk: string): string | null {
  const rec = recordFile(chunk);
  if (!existsSync(rec)) return `no record ${path.basename(rec)} (written after the chunk: the collection stopped in between)`;
  let want: { bytes: number; sha256: string };
  try {
    want = JSON.parse(readFileSync(rec, 'utf8'));
  } catch {
    return `its record ${path.basename(rec)} is not readable JSON`;
  }
  const bytes = statSync(chunk).size;
  if (bytes !== want.bytes) return `${bytes} bytes, its record says ${want.bytes} (truncated)`;
  if (sha256(chunk) !== want.sha256) return 'its sha256 differs from its record (corrupted)';
  return null;
}

/** Remove `*.tmp-<pid>-<time>` files in `dir` whose writer is gone; returns their paths. */
function removeStaleTemps(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const stale = readdirSync(dir).filter((f) => {
    const m = /\.tmp-(\d+)-\d+$/.exec(f);
    return m !== null && Number(m[1]) !== process.pid && !processAlive(Number(m[1]));
  });
  for (const f of stale) rmSync(path.join(dir, f), { recursive: true, force: true });
  return stale.map((f) => path.join(dir, f));
}

function runEpisode(
  env: import('../../sim/task-env.js').TaskEnv,
  controller: Controller,
  id: number,
  seed: number,
  source: string,
  obsDim: number,
  actDim: number,
): Episode {
  const maxT = env.spec.maxEpisodeSteps;
  const obsBuf = new Float32Array((maxT + 1) * obsDim);
  const actBuf = new Float32Array(maxT * actDim);
  const rewards: number[] = [];
  const term: number[] = [];
  const trunc: number[] = [];
  let { obs } = env.reset({ seed });
  controller.reset();
  obsBuf.set(obs, 0);
  let endReason = '';
  let metrics: Record<string, number> = {};
  for (let t = 0; ; t++) {
    const a = controller.act(obs, controller.privileged ? env.state : undefined);
    const act = typeof a === 'number' ? Float32Array.of(a) : a;
    // Record the action the env executes: clipped to the Box, as the task clips it.
    for (let j = 0; j < actDim; j++) actBuf[t * actDim + j] = Math.max(-1, Math.min(1, Number.isNaN(act[j]) ? 0 : act[j]));
    const r = env.step(act);
    obs = r.obs;
    obsBuf.set(obs, (t + 1) * obsDim);
    rewards.push(r.reward);
    term.push(r.terminated ? 1 : 0);
    trunc.push(r.truncated ? 1 : 0);
    if (r.terminated || r.truncated) {
      endReason = String(r.info.endReason ?? (r.truncated ? 'time-limit' : 'terminated'));
      metrics = (r.info.episode as { metrics: Record<string, number> }).metrics;
      break;
    }
  }
  const T = rewards.length;
  return {
    id,
    seed,
    source,
    observations: obsBuf.slice(0, (T + 1) * obsDim),
    actions: actBuf.slice(0, T * actDim),
    rewards: Float64Array.from(rewards),
    terminations: Uint8Array.from(term),
    truncations: Uint8Array.from(trunc),
    endReason,
    metrics,
  };
}

export function datasetCard(ds: OfflineDataset, sources: SourceSpec[], seed: number): DatasetCard {
  const ret = (e: Episode) => e.rewards.reduce((a, b) => a + b, 0);
  const metricNames = ds.episodes.length ? Object.keys(ds.episodes[0].metrics) : [];
  const metrics: Record<string, ReturnType<typeof stats>> = {};
  for (const k of metricNames) metrics[k] = stats(ds.episodes.map((e) => e.metrics[k] ?? 0));
  const endReasons: Record<string, number> = {};
  for (const e of ds.episodes) endReasons[e.endReason] = (endReasons[e.endReason] ?? 0) + 1;
  return {
    format: 'embody.dataset-card/1',
    datasetId: ds.meta.datasetId,
    scene: ds.meta.scene,
    taskId: ds.meta.taskId,
    seed,
    episodes: ds.episodes.length,
    steps: ds.episodes.reduce((n, e) => n + e.rewards.length, 0),
    sources: sources.map((s) => {
      const mine = ds.episodes.filter((e) => e.source === s.label);
      return { label: s.label, controller: s.controller, noise: s.noise, fraction: s.fraction, episodes: mine.length, return: stats(mine.map(ret)) };
    }),
    return: stats(ds.episodes.map(ret)),
    metrics,
    endReasons,
    createdAt: new Date().toISOString(),
    layout: 'Minari HDF5: data/main_data.hdf5 + data/metadata.json (src/data/minari.ts)',
  };
}
