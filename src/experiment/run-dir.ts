import { appendFileSync, mkdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../sim/scene.js';
import { writeJsonAtomic } from './atomic.js';

/**
 * Run directories: `runs/<time>-<scene>-<controller>-s<seed>/` holding config.json,
 * metrics.jsonl, summary.json, checkpoints/, policy/ and episodes/ (DESIGN.md).
 */
export const PACKAGE_VERSION: string = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')).version;

/** What a command passes to RunDir.create; the rest is filled in. */
export interface RunConfigInput {
  command: string;
  scene: string;
  controller: string;
  seed: number;
  backend: string;
  [key: string]: unknown;
}

export interface RunConfig extends RunConfigInput {
  command: string;
  scene: string;
  controller: string;
  seed: number;
  /** The tfjs backend, for runs that use one ("none" for scripted-only runs). */
  backend: string;
  packageVersion: string;
  node: string;
  platform: string;
  createdAt: string;
  /** Everything else needed to rerun: episodes, steps, hyper-parameters, argv. */
  [key: string]: unknown;
}

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
    return run;
  }

  static open(dir: string): RunDir {
    if (!existsSync(path.join(dir, 'config.json'))) throw new Error(`not a run directory (no config.json): ${dir}`);
    return new RunDir(path.resolve(dir));
  }

  config(): RunConfig {
    return JSON.parse(readFileSync(path.join(this.dir, 'config.json'), 'utf8'));
  }

  path(...parts: string[]): string {
    return path.join(this.dir, ...parts);
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
