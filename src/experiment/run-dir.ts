import { appendFileSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, statSync, truncateSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { PACKAGE_VERSION } from '../core/package.js';
import { ValidationError } from '../core/errors.js';
import { writeJsonAtomic } from '../core/atomic.js';
import { markLatest } from './run-index.js';

/**
 * Run directories: `runs/<time>-<scene>-<controller>-s<seed>/` holding config.json,
 * metrics.jsonl, summary.json, checkpoints/, policy/ and episodes/ (DESIGN.md).
 */
export { PACKAGE_VERSION };

/** What a command passes to RunDir.create; the rest is filled in. */
export interface RunConfigInput {
  command: string;
  scene: string;
  controller: string;
  seed: number;
  backend: string;
  [key: string]: unknown;
}

/**
 * config.json as RunDir.create writes it: the fields every command records, typed; everything else
 * a command needs to rerun (episodes, steps, hyper-parameters, the scene) passes through as is.
 */
export const RunConfigSchema = z.looseObject({
  command: z.string().min(1),
  scene: z.string().min(1),
  controller: z.string().min(1),
  seed: z.number().int(),
  /** The tfjs backend, for runs that use one ("none" for scripted-only runs). */
  backend: z.string(),
  packageVersion: z.string(),
  node: z.string(),
  platform: z.string(),
  createdAt: z.string(),
  /** The merged training config (train: driver keys and hyper-parameters). */
  config: z.record(z.string(), z.unknown()).optional(),
  argv: z.array(z.string()).optional(),
});
export type RunConfig = z.infer<typeof RunConfigSchema>;

export function stamp(d = new Date()): string {
  // 20261127-031502: sortable, and safe in file names on every OS.
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}-${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 60);
}

export class RunDir {
  readonly id: string;
  private readonly metricsFile: string;
  private readonly t0 = Date.now();

  constructor(readonly dir: string) {
    this.id = path.basename(dir);
    this.metricsFile = path.join(dir, 'metrics.jsonl');
  }

  /** Make a new run directory under `root` and write its config. */
  static create(root: string, config: RunConfigInput): RunDir {
    const base = `${stamp()}-${safeName(config.scene)}-${safeName(config.controller)}-s${config.seed}`;
    let dir = path.resolve(root, base);
    for (let i = 2; existsSync(dir); i++) dir = path.resolve(root, `${base}-${i}`);
    mkdirSync(dir, { recursive: true });
    const run = new RunDir(dir);
    const full: RunConfig = {
      ...config,
      packageVersion: PACKAGE_VERSION,
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      createdAt: new Date().toISOString(),
    };
    writeJsonAtomic(path.join(dir, 'config.json'), full);
    markLatest(dir);
    return run;
  }

  static open(dir: string): RunDir {
    if (!existsSync(path.join(dir, 'config.json'))) throw new Error(`not a run directory (no config.json): ${dir}`);
    return new RunDir(path.resolve(dir));
  }

  /** config.json, checked: a damaged or foreign file is a ValidationError naming the file and the field. */
  config(): RunConfig {
    const file = path.join(this.dir, 'config.json');
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new ValidationError(`${file}: ${(err as Error).message}`, [], { cause: err });
    }
    const res = RunConfigSchema.safeParse(raw);
    if (!res.success) {
      const issues = res.error.issues.map((i) => ({ path: i.path.join('.') || '(root)', message: i.message }));
      throw new ValidationError(`${file}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues);
    }
    return res.data;
  }

  path(...parts: string[]): string {
    return path.join(this.dir, ...parts);
  }

  /**
   * Take the run's lock file (`run.lock`: pid, host), so that two processes never write one run.
   * A lock held by a live process is refused; one left by a dead process on this host is taken
   * over. Returns the release function.
   */
  lock(): () => void {
    const file = path.join(this.dir, 'run.lock');
    const mine = JSON.stringify({ pid: process.pid, host: hostname(), startedAt: new Date().toISOString() }) + '\n';
    for (let attempt = 0; ; attempt++) {
      try {
        const fd = openSync(file, 'wx');
        writeSync(fd, mine);
        fsyncSync(fd);
        closeSync(fd);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
        const holder = readLock(file);
        if (holder && holder.host !== hostname()) {
          throw new ValidationError(`${file}: the run is locked by pid ${holder.pid} on host ${holder.host}; if that process is gone, delete the lock file`);
        }
        if (holder && processAlive(holder.pid)) {
          throw new ValidationError(`${file}: the run is in use by pid ${holder.pid} (started ${holder.startedAt}); a second process may not write it`);
        }
        unlinkSync(file); // stale (dead pid, or a torn lock file): take it over
      }
    }
    return () => {
      if (readLock(file)?.pid === process.pid) unlinkSync(file);
    };
  }

  /** Make the metrics written so far durable, and say how far they reach (for a checkpoint). */
  syncMetrics(): { bytes: number } {
    if (!existsSync(this.metricsFile)) return { bytes: 0 };
    const fd = openSync(this.metricsFile, 'r+');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    return { bytes: statSync(this.metricsFile).size };
  }

  /**
   * Cut metrics.jsonl back to what a checkpoint covers (`bytes`, `lines`): lines written after it are
   * written again by the resumed run. Lines the checkpoint covers are never dropped: a shorter file,
   * or one whose covered part is not `lines` whole lines, is an error.
   */
  reconcileMetrics(bytes: number, lines: number): void {
    const size = existsSync(this.metricsFile) ? statSync(this.metricsFile).size : 0;
    if (size < bytes) throw new ValidationError(`${this.metricsFile}: ${size} bytes, but the checkpoint covers ${bytes}: metrics lines were lost outside this run`);
    const covered = readFileSync(this.metricsFile).subarray(0, bytes);
    let n = 0;
    for (const b of covered) if (b === 0x0a) n++;
    if (n !== lines || (bytes > 0 && covered[bytes - 1] !== 0x0a)) {
      throw new ValidationError(`${this.metricsFile}: the first ${bytes} bytes hold ${n} lines, the checkpoint says ${lines}: the file was changed outside this run`);
    }
    if (size > bytes) truncateSync(this.metricsFile, bytes);
  }

  /** Append one metrics line. A line is small and appended whole, so a crash loses at most the last one. */
  logMetrics(step: number, figures: Record<string, number | string>): void {
    const line = { step, wallTime: (Date.now() - this.t0) / 1000, time: new Date().toISOString(), ...figures };
    appendFileSync(this.metricsFile, JSON.stringify(line) + '\n');
  }

  writeSummary(summary: Record<string, unknown>): void {
    writeJsonAtomic(path.join(this.dir, 'summary.json'), summary);
  }

  readMetrics(): Record<string, number>[] {
    if (!existsSync(this.metricsFile)) return [];
    return readFileSync(this.metricsFile, 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .flatMap((l) => {
        try {
          return [JSON.parse(l)];
        } catch {
          return []; // a torn last line after a crash
        }
      });
  }
}

function readLock(file: string): { pid: number; host: string; startedAt: string } | null {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8'));
    return typeof v?.pid === 'number' && typeof v?.host === 'string' ? v : null;
  } catch {
    return null; // gone meanwhile, or torn by a crash while it was written
  }
}

/** Whether a process with this pid runs on this host (signal 0 probes without signalling). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, owned by someone else
  }
}
