import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { writeJsonAtomic } from '../core/atomic.js';
import { ValidationError } from '../core/errors.js';
import type { DatasetMeta, Episode, OfflineDataset } from './dataset.js';

/**
 * Minari's on-disk layout (Farama Minari "Dataset Standards", HDF5 storage), written with h5wasm so
 * that `minari.load_dataset` / `h5py` open it:
 *
 *   <dataset>/data/metadata.json   total_episodes, total_steps, data_format "hdf5", observation_space and
 *                                  action_space (Minari's serialised-space JSON strings), dataset_id,
 *                                  minari_version, ...
 *   <dataset>/data/main_data.hdf5
 *     /  attrs: total_episodes, total_steps, dataset_id, minari_version (older Minari read these here)
 *     /episode_<id>/  attrs: id, seed, total_steps (+ ours: source, return, end_reason, metrics/<name>)
 *        observations  float32 [T+1, obsDim]  (the initial and final observation are both kept)
 *        actions       float32 [T, actDim]    (int64 [T] for a Discrete space; absent for action-free trajectories)
 *        rewards       float64 [T]
 *        terminations  uint8   [T]            0/1, see BOOL_NOTE
 *        truncations   uint8   [T]
 *        infos/        group of per-step arrays [T+1]: `t` (seconds since reset)
 *   Every dataset is chunked with an unlimited first dimension, as Minari's own
 *   (`create_dataset(..., chunks=True, maxshape=(None, ...))`), so Minari can extend an episode.
 *
 * In a Minari root (~/.minari/datasets, `minariDatasetDir`) a dataset lives at
 * `<root>/<namespace>/<name>-v<N>/`, its path being its `dataset_id`.
 * Every file is written to a temp name and renamed into place.
 */
export const MINARI_VERSION = '0.5.2';
export const MAIN_FILE = 'main_data.hdf5';
export const METADATA_FILE = 'metadata.json';

/**
 * Why the flags are uint8, not bool: h5py stores numpy bool as an HDF5 enum {FALSE: 0, TRUE: 1}
 * over int8, and h5wasm 0.10.3 (the newest) cannot create an enum type: its
 * `create_h5_datatype_from_metadata` (src/hdf5_util.cc) builds string, integer, float,
 * reference and compound types only and throws "data type not supported" otherwise, and no
 * binding exposes H5Tenum_create. h5py reads the flags as uint8 0/1, which numpy and Minari
 * use as truth values unchanged (`np.logical_or(terminations, truncations)`).
 */
export const BOOL_NOTE = 'uint8 0/1 (h5wasm cannot write the HDF5 enum h5py uses for bool)';

/** Rows per chunk: whole short episodes in one chunk, long ones in 4096-row pieces. */
const chunkRows = (rows: number) => Math.max(1, Math.min(rows, 4096));

/** A Minari dataset id: `[namespace/]name-v<version>`, namespaces nested with `/`. */
export const DATASET_ID = /^([A-Za-z0-9_.-]+\/)*[A-Za-z0-9_.-]+-v\d+$/;

/**
 * Where `--out` puts a dataset. A Minari root (an existing directory named `datasets` inside
 * `.minari`, or one already holding `<namespace>/<name>-vN/data/metadata.json` datasets) gets
 * the dataset at `<root>/<dataset_id>`, so `minari.load_dataset(dataset_id)` finds it; any
 * other path is the dataset directory itself.
 */
export function minariDatasetDir(out: string, datasetId: string): { dir: string; inRoot: boolean } {
  if (!DATASET_ID.test(datasetId)) throw new ValidationError(`dataset id "${datasetId}": expected [namespace/]name-v<N>, e.g. embody/uav-small-greedy-v0`);
  return isMinariRoot(out) ? { dir: path.join(out, ...datasetId.split('/')), inRoot: true } : { dir: out, inRoot: false };
}

function isMinariRoot(dir: string): boolean {
  if (!existsSync(dir) || existsSync(path.join(dir, 'data', METADATA_FILE))) return false;
  const abs = path.resolve(dir);
  if (path.basename(abs) === 'datasets' && path.basename(path.dirname(abs)) === '.minari') return true;
  const holdsDataset = (d: string, depth: number): boolean => {
    if (depth > 3) return false;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      const sub = path.join(d, e.name);
      if (/-v\d+$/.test(e.name) && existsSync(path.join(sub, 'data', METADATA_FILE))) return depth > 0;
      if (holdsDataset(sub, depth + 1)) return true;
    }
    return false;
  };
  return holdsDataset(abs, 0);
}

/**
 * Gymnasium EnvSpec JSON (`EnvSpec.to_json()`) for the tasks that are ports of a registered
 * Gymnasium env, so `dataset.recover_environment()` makes the env itself. Keys that
 * gymnasium 0.28-1.x all accept; Minari strips `order_enforce`/`autoreset` anyway.
 */
const GYMNASIUM_ENTRY_POINTS: Record<string, { entry_point: string; reward_threshold: number | null }> = {
  'Pendulum-v1': { entry_point: 'gymnasium.envs.classic_control.pendulum:PendulumEnv', reward_threshold: null },
  'CartPole-v1': { entry_point: 'gymnasium.envs.classic_control.cartpole:CartPoleEnv', reward_threshold: 475 },
};

export function gymnasiumEnvSpec(taskId: string, maxEpisodeSteps: number): string | null {
  const e = GYMNASIUM_ENTRY_POINTS[taskId];
  if (!e) return null;
  return JSON.stringify({
    id: taskId,
    entry_point: e.entry_point,
    reward_threshold: e.reward_threshold,
    nondeterministic: false,
    max_episode_steps: maxEpisodeSteps,
    disable_env_checker: false,
    kwargs: {},
    additional_wrappers: [],
    vector_entry_point: null,
  });
}

type H5 = typeof import('h5wasm/node').default;
let h5: H5 | null = null;

/** h5wasm's Node build reads and writes the real file system. */
export async function loadH5(): Promise<H5> {
  if (!h5) {
    const mod = await import('h5wasm/node');
    await mod.default.ready;
    h5 = mod.default;
  }
  return h5;
}

/** Minari's `serialize_space` JSON for a Box (Python's json writes ±Infinity literally). */
export function serializeSpace(space: unknown): string {
  const s = space as { kind?: string; low?: number[]; high?: number[]; shape?: number[]; n?: number };
  if (s.kind === 'discrete') return JSON.stringify({ type: 'Discrete', dtype: 'int64', start: 0, n: s.n });
  // Space.toJSON writes ±1e308 for infinite bounds; Minari (Python json) expects Infinity.
  const num = (x: number) => (x >= 1e308 ? 'Infinity' : x <= -1e308 ? '-Infinity' : String(x));
  const list = (xs: number[] = []) => `[${xs.map(num).join(', ')}]`;
  return `{"type": "Box", "dtype": "float32", "shape": ${JSON.stringify(s.shape ?? [])}, "low": ${list(s.low)}, "high": ${list(s.high)}}`;
}

function writeEpisode(file: import('h5wasm/node').File, ep: Episode, meta: DatasetMeta): void {
  const T = ep.rewards.length;
  const g = file.create_group(`episode_${ep.id}`);
  g.create_attribute('id', ep.id, null, '<q');
  g.create_attribute('seed', ep.seed, null, '<q');
  g.create_attribute('total_steps', T, null, '<q');
  g.create_attribute('source', ep.source);
  g.create_attribute('end_reason', ep.endReason);
  g.create_attribute('return', ep.rewards.reduce((a, b) => a + b, 0), null, '<d');
  for (const [k, v] of Object.entries(ep.metrics)) g.create_attribute(`metrics/${k}`, v, null, '<d');
  // Chunked and resizable along time, as Minari writes them.
  const put = (group: import('h5wasm/node').Group, name: string, data: import('h5wasm/node').GuessableDataTypes, shape: number[], dtype: string) =>
    group.create_dataset({ name, data, shape, dtype, maxshape: [null, ...shape.slice(1)], chunks: [chunkRows(shape[0]), ...shape.slice(1)] });
  put(g, 'observations', ep.observations, [T + 1, meta.obsDim], '<f');
  // A Discrete action is one int64 per step, as Minari writes gymnasium's Discrete samples.
  const discrete = (meta.actionSpace as { kind?: string } | undefined)?.kind === 'discrete';
  if (ep.actions && discrete) put(g, 'actions', BigInt64Array.from(ep.actions, (a) => BigInt(Math.round(a))), [T], '<q');
  else if (ep.actions) put(g, 'actions', ep.actions, [T, meta.actDim], '<f');
  put(g, 'rewards', ep.rewards, [T], '<d');
  put(g, 'terminations', ep.terminations, [T], '<B');
  put(g, 'truncations', ep.truncations, [T], '<B');
  const infos = g.create_group('infos');
  const t = new Float64Array(T + 1);
  for (let i = 0; i <= T; i++) t[i] = i * meta.controlPeriod;
  put(infos, 't', t, [T + 1], '<d');
}

/** Write episodes into one HDF5 file in Minari's layout (temp file + rename). */
export async function writeEpisodesHdf5(file: string, episodes: Episode[], meta: DatasetMeta): Promise<void> {
  const lib = await loadH5();
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  const f = new lib.File(tmp, 'w');
  try {
    const steps = episodes.reduce((n, e) => n + e.rewards.length, 0);
    f.create_attribute('total_episodes', episodes.length, null, '<q');
    f.create_attribute('total_steps', steps, null, '<q');
    f.create_attribute('dataset_id', meta.datasetId);
    f.create_attribute('minari_version', MINARI_VERSION);
    for (const ep of episodes) writeEpisode(f, ep, meta);
  } finally {
    f.close();
  }
  renameSync(tmp, file);
}

/** Read every episode of one HDF5 file (ours or any file in Minari's layout with Box spaces). */
export async function readEpisodesHdf5(file: string): Promise<{ episodes: Episode[]; obsDim: number; actDim: number; attrs: Record<string, unknown> }> {
  const lib = await loadH5();
  const f = new lib.File(file, 'r');
  try {
    const attrs: Record<string, unknown> = {};
    for (const [k, a] of Object.entries(f.attrs)) attrs[k] = a.json_value;
    const names = f.keys().filter((k) => /^episode_\d+$/.test(k));
    names.sort((a, b) => Number(a.slice(8)) - Number(b.slice(8)));
    let obsDim = 0;
    let actDim = 0;
    const episodes: Episode[] = names.map((name) => {
      const g = f.get(name) as import('h5wasm/node').Group;
      const at = g.attrs;
      const get = (k: string) => at[k]?.json_value;
      const obsDs = g.get('observations') as import('h5wasm/node').Dataset;
      const shape = obsDs.shape ?? [];
      obsDim = shape[1] ?? 1;
      const observations = Float32Array.from(obsDs.value as ArrayLike<number>);
      const actDs = g.get('actions') as import('h5wasm/node').Dataset | null;
      let actions: Float32Array | null = null;
      if (actDs) {
        actDim = actDs.shape?.[1] ?? 1;
        actions = Float32Array.from(actDs.value as ArrayLike<number | bigint>, Number);
      }
      const rewards = Float64Array.from((g.get('rewards') as import('h5wasm/node').Dataset).value as ArrayLike<number>);
      const flags = (n: string) => Uint8Array.from(((g.get(n) as import('h5wasm/node').Dataset).value as ArrayLike<number | boolean>) as ArrayLike<number>, Number);
      const metrics: Record<string, number> = {};
      for (const k of Object.keys(at)) if (k.startsWith('metrics/')) metrics[k.slice(8)] = Number(get(k));
      return {
        id: Number(get('id') ?? name.slice(8)),
        seed: Number(get('seed') ?? -1),
        source: String(get('source') ?? 'unknown'),
        observations,
        actions,
        rewards,
        terminations: flags('terminations'),
        truncations: flags('truncations'),
        endReason: String(get('end_reason') ?? ''),
        metrics,
      };
    });
    return { episodes, obsDim, actDim, attrs };
  } finally {
    f.close();
  }
}

/** Minari's metadata.json content for a dataset. */
export function minariMetadata(meta: DatasetMeta, episodes: Episode[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  const envSpec = gymnasiumEnvSpec(meta.taskId, meta.maxEpisodeSteps);
  return {
    dataset_id: meta.datasetId,
    total_episodes: episodes.length,
    total_steps: episodes.reduce((n, e) => n + e.rewards.length, 0),
    data_format: 'hdf5',
    observation_space: serializeSpace(meta.observationSpace),
    action_space: serializeSpace(meta.actionSpace),
    minari_version: MINARI_VERSION,
    algorithm_name: extra.algorithm_name ?? 'embody collect',
    // Lists: Minari reads author/author_email with set(), which splits a string into letters.
    author: ['embody'],
    author_email: [],
    ...(envSpec ? { env_spec: envSpec } : {}),
    code_permalink: 'src/data/collect.ts',
    // Not Minari keys: what our readers need to rebuild the env and the spaces.
    embody: { taskId: meta.taskId, scene: meta.scene, controlPeriod: meta.controlPeriod, maxEpisodeSteps: meta.maxEpisodeSteps, observationSpace: meta.observationSpace, actionSpace: meta.actionSpace },
    ...extra,
  };
}

/** Write a whole dataset directory: data/main_data.hdf5 then data/metadata.json (each atomic). */
export async function writeDataset(dir: string, ds: OfflineDataset, extra: Record<string, unknown> = {}): Promise<void> {
  const data = path.join(dir, 'data');
  await writeEpisodesHdf5(path.join(data, MAIN_FILE), ds.episodes, ds.meta);
  writeJsonAtomic(path.join(data, METADATA_FILE), minariMetadata(ds.meta, ds.episodes, extra));
}

/** Read a dataset directory (or its data/ folder, or the .hdf5 file beside a metadata.json). */
export async function readDataset(ref: string): Promise<OfflineDataset> {
  let data = ref;
  if (ref.endsWith('.hdf5')) data = path.dirname(ref);
  else if (existsSync(path.join(ref, 'data', METADATA_FILE))) data = path.join(ref, 'data');
  const metaFile = path.join(data, METADATA_FILE);
  if (!existsSync(metaFile)) throw new ValidationError(`${ref}: not a dataset (no data/${METADATA_FILE}); make one with \`embody collect\``);
  const md = JSON.parse(readFileSync(metaFile, 'utf8')) as Record<string, unknown>;
  const { episodes, obsDim, actDim } = await readEpisodesHdf5(path.join(data, MAIN_FILE));
  const e = (md.embody ?? {}) as Partial<DatasetMeta>;
  return {
    meta: {
      datasetId: String(md.dataset_id ?? path.basename(ref)),
      taskId: e.taskId ?? 'unknown',
      scene: e.scene ?? 'unknown',
      obsDim,
      actDim: actDim || ((e.actionSpace as { shape?: number[] } | undefined)?.shape?.[0] ?? 0),
      observationSpace: e.observationSpace,
      actionSpace: e.actionSpace,
      controlPeriod: e.controlPeriod ?? 1,
      maxEpisodeSteps: e.maxEpisodeSteps ?? 0,
    },
    episodes,
  };
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
