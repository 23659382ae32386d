import { existsSync, readdirSync, readFileSync, readlinkSync, realpathSync, renameSync, statSync, symlinkSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { NotFoundError } from '../core/errors.js';

/**
 * Finding runs without copying ids: `runs/latest` (a symlink to the newest run, replaced
 * atomically), `runs/<prefix>` (a unique prefix, or a unique part, of a run id), and the
 * listing behind `embody runs`.
 */
export const LATEST = 'latest';

/** Point `<root>/latest` at `runDir` (relative, so the folder can move). */
export function markLatest(runDir: string): void {
  const root = path.dirname(runDir);
  const link = path.join(root, LATEST);
  const tmp = path.join(root, `.${LATEST}-${process.pid}-${Date.now()}`);
  try {
    symlinkSync(path.basename(runDir), tmp);
    renameSync(tmp, link);
  } catch {
    // A file system without symlinks: `latest` is then missing, and prefixes still work.
    if (existsSync(tmp)) unlinkSync(tmp);
  }
}

/** Remove `<root>/latest` if it points at `runDir` (a run that was removed). */
export function unmarkLatest(runDir: string): void {
  const link = path.join(path.dirname(runDir), LATEST);
  try {
    if (readlinkSync(link) === path.basename(runDir)) unlinkSync(link);
  } catch {
    // no link, or not ours
  }
}

const isRunDir = (dir: string) => existsSync(path.join(dir, 'config.json'));

const isSweepDir = (dir: string) => existsSync(path.join(dir, 'sweep.json'));

const childDirs = (dir: string) =>
  readdirSync(dir)
    .filter((name) => !name.startsWith('.') && name !== LATEST)
    .map((name) => path.join(dir, name))
    .filter((d) => statSync(d).isDirectory());

/** The run directories inside a sweep: `<sweep>/<trial>/<run>` (`embody sweep`, `embody train --seeds`). */
function sweepRunDirs(sweep: string): string[] {
  return childDirs(sweep).flatMap((trial) => (isRunDir(trial) ? [trial] : childDirs(trial).filter(isRunDir)));
}

/**
 * Run directories under `root`, oldest first (ids start with a sortable UTC time). With
 * `sweeps`, also the runs inside the sweep directories there, so `embody runs` shows the seeds
 * of `embody train --seeds`; prefixes (`resolveRunDir`) match direct runs only.
 */
export function listRunDirs(root: string, { sweeps = false } = {}): string[] {
  if (!existsSync(root)) return [];
  return childDirs(root)
    .flatMap((dir) => (isRunDir(dir) ? [dir] : sweeps && isSweepDir(dir) ? sweepRunDirs(dir) : []))
    .sort();
}

/**
 * `runs/<id>`, `runs/latest` or `runs/<prefix>` → the run directory. A path that is
 * already a run directory is returned as it is; `runs/<id>/policy` stays a path too.
 */
export function resolveRunDir(ref: string): string {
  const clean = ref.replace(/[\\/]+$/, '');
  if (isRunDir(clean)) return realpathSync(clean);
  const root = path.dirname(clean) || '.';
  const wanted = path.basename(clean);
  if (wanted === LATEST) {
    const link = path.join(root, LATEST);
    const target = existsSync(link) ? path.resolve(root, readlinkSync(link)) : listRunDirs(root).at(-1);
    if (!target) throw new NotFoundError(`${ref}: no runs under ${root}/ yet`);
    return target;
  }
  const all = listRunDirs(root);
  const ids = all.map((d) => path.basename(d));
  let hits = ids.filter((id) => id.startsWith(wanted));
  if (hits.length === 0) hits = ids.filter((id) => id.includes(wanted));
  if (hits.length === 1) return path.join(path.resolve(root), hits[0]);
  if (hits.length > 1) {
    throw new NotFoundError(`${ref} matches ${hits.length} runs: ${hits.slice(0, 6).join(', ')}${hits.length > 6 ? ', …' : ''}; give more of the id`);
  }
  throw new NotFoundError(`${ref}: no run directory${ids.length ? ` (under ${root}/: ${ids.length} runs; \`embody runs ${root}\` lists them)` : ` under ${root}/`}`);
}

export interface RunListing {
  id: string;
  dir: string;
  command: string;
  scene: string;
  task?: string;
  controller: string;
  seed: number;
  /** Env steps (train) or episodes (run). */
  steps?: number;
  episodes?: number;
  /** The final evaluation's mean return (train) or the episodes' mean return (run). */
  finalReturn?: number;
  finished: boolean;
}

function readJson(file: string): Record<string, any> | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

/** One row of `embody runs`; the id is the path below `root` (`<sweep>/<trial>/<run>` inside a sweep). */
export function describeRun(dir: string, root = path.dirname(dir)): RunListing {
  const config = readJson(path.join(dir, 'config.json')) ?? {};
  const summary = readJson(path.join(dir, 'summary.json'));
  const finalReturn = summary?.finalEval?.return?.mean ?? summary?.summary?.return?.mean;
  return {
    id: path.relative(root, dir),
    dir,
    command: String(config.command ?? '?'),
    scene: String(config.scene ?? '?'),
    task: config.sceneConfig?.task,
    controller: String(config.controller ?? '?'),
    seed: Number(config.seed ?? 0),
    steps: summary?.envSteps,
    episodes: config.episodes,
    finalReturn: typeof finalReturn === 'number' ? finalReturn : undefined,
    finished: summary !== null,
  };
}
