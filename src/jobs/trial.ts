import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { writeJsonAtomic } from '../core/atomic.js';
import { SWEEP_COMMANDS } from './spec.js';

/**
 * One trial = one job. This is the job handler: it runs inside a fresh child process
 * (src/jobs/child.ts), the same way for the local pool and for `embody worker`, and calls the
 * code paths the CLI commands call, so a trial's directory is what that command would write:
 * - train: experiment/train.ts `train()` with `--out <trialDir>`, resumable from a checkpoint;
 * - train-offline, collect, eval: the command's own commander action (src/cli/commands/<cmd>.ts)
 *   with the sweep's `args`, the trial's seed, `--out <trialDir>`, and the config as options
 *   (train-offline: `--config <json>`; collect and eval: `--<key> <value>`).
 * Idempotent: the caller hands it an empty trial directory, or one holding a checkpoint to resume.
 */
export const TrialJob = z.object({
  sweepId: z.string(),
  trialId: z.string(),
  command: z.enum(SWEEP_COMMANDS),
  scene: z.string().optional(),
  controller: z.string().optional(),
  seed: z.number().int().nonnegative(),
  steps: z.number().int().positive().optional(),
  config: z.record(z.string(), z.unknown()),
  args: z.array(z.string()),
  maxMinutes: z.number().positive().optional(),
  /** command "function": module path (from the package root) and export. */
  module: z.string().optional(),
  export: z.string().optional(),
  /** A shared directory holding the sweep (`--store`): write the trial there, ship no files through Redis. */
  storeDir: z.string().optional(),
});
export type TrialJob = z.infer<typeof TrialJob>;

export interface TrialCheckpoint {
  /** The run directory, relative to the trial directory. */
  runDir: string;
  step: number;
  evalReturn: number;
}

export interface TrialRunResult {
  /** The run (or dataset) directory, relative to the trial directory; "." for eval. */
  runDir: string;
  summary: Record<string, unknown>;
}

export interface TrialHooks {
  /** Awaited: training waits until the checkpoint has been copied away. */
  onCheckpoint?: (c: TrialCheckpoint) => Promise<void> | void;
}

/** A run directory under `trialDir` that holds a complete checkpoint (a checkpoints/gen-N generation), if any. */
export function resumableRun(trialDir: string): string | undefined {
  if (!existsSync(trialDir)) return undefined;
  return readdirSync(trialDir)
    // lstat: runs/latest is a symlink to one of them, not a run of its own.
    .filter((d) => lstatSync(path.join(trialDir, d)).isDirectory() && hasGeneration(path.join(trialDir, d, 'checkpoints')))
    .sort()
    .at(-1);
}

function hasGeneration(dir: string): boolean {
  return existsSync(dir) && readdirSync(dir).some((n) => /^gen-\d+$/.test(n) && existsSync(path.join(dir, n, 'manifest.json')));
}

export async function runTrial(job: TrialJob, trialDir: string, hooks: TrialHooks = {}): Promise<TrialRunResult> {
  if (job.command === 'train') return runTrain(job, trialDir, hooks);
  if (job.command === 'function') return runFunction(job, trialDir);
  return runCommand(job, trialDir);
}

async function runTrain(job: TrialJob, trialDir: string, hooks: TrialHooks): Promise<TrialRunResult> {
  const { train } = await import('../experiment/train.js');
  const resume = resumableRun(trialDir);
  const r = await train({
    scene: job.scene ?? '',
    controller: job.controller ?? '',
    steps: job.steps,
    seed: job.seed,
    overrides: job.config,
    out: trialDir,
    resume: resume ? path.join(trialDir, resume) : undefined,
    quiet: true,
    maxWallSeconds: job.maxMinutes ? job.maxMinutes * 60 : undefined,
    onCheckpoint: async (c) => hooks.onCheckpoint?.({ runDir: path.relative(trialDir, c.runDir), step: c.envSteps, evalReturn: c.evalReturn }),
  });
  const summary = JSON.parse(readFileSync(path.join(r.runDir, 'summary.json'), 'utf8'));
  return { runDir: path.relative(trialDir, r.runDir), summary: { ...summary, resumedFrom: resume ?? null } };
}

/** The signature a `function` sweep's export has: one trial in, a JSON summary out. */
export type TrialFunction = (trial: { seed: number; scene?: string; config: Record<string, unknown>; trialDir: string }) => Promise<Record<string, unknown>>;

async function runFunction(job: TrialJob, trialDir: string): Promise<TrialRunResult> {
  const { PACKAGE_ROOT } = await import('../../sim/scene.js');
  const mod = await import(pathToFileURL(path.resolve(PACKAGE_ROOT, job.module ?? '')).href);
  const fn = mod[job.export ?? 'runTrial'] as TrialFunction | undefined;
  if (typeof fn !== 'function') throw new Error(`${job.module} has no exported function ${job.export}`);
  const summary = await fn({ seed: job.seed, scene: job.scene, config: job.config, trialDir });
  writeJsonAtomic(path.join(trialDir, 'summary.json'), summary);
  return { runDir: '.', summary };
}

const kebab = (k: string) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

async function runCommand(job: TrialJob, trialDir: string): Promise<TrialRunResult> {
  const { Command } = await import('commander');
  const program = new Command('embody').exitOverride();
  const mod = await import(`../cli/commands/${job.command}.ts`);
  mod.register(program);
  const asFlags = Object.entries(job.config).flatMap(([k, v]) => [`--${kebab(k)}`, typeof v === 'string' ? v : JSON.stringify(v)]);
  const seed = ['--seed', String(job.seed)];
  let argv: string[];
  let runDir: string;
  if (job.command === 'train-offline') {
    argv = [...job.args, ...seed, '--out', trialDir, ...(Object.keys(job.config).length ? ['--config', JSON.stringify(job.config)] : [])];
  } else if (job.command === 'collect') {
    argv = [job.scene ?? '', ...job.args, ...asFlags, ...seed, '--out', path.join(trialDir, 'dataset')];
  } else {
    argv = [...job.args, ...(job.scene ? [job.scene] : []), ...asFlags, ...seed, '--json'];
  }
  // eval prints its summary as JSON on stdout; keep what it prints.
  const printed: string[] = [];
  const log = console.log;
  console.log = (...xs: unknown[]) => {
    printed.push(xs.map(String).join(' '));
    log(...xs);
  };
  try {
    await program.parseAsync(['node', 'embody', job.command, ...argv]);
  } finally {
    console.log = log;
  }
  let summary: Record<string, unknown>;
  if (job.command === 'train-offline') {
    runDir = readdirSync(trialDir).filter((d) => existsSync(path.join(trialDir, d, 'summary.json'))).sort().at(-1) ?? '';
    if (!runDir) throw new Error(`train-offline wrote no run directory under ${trialDir}`);
    summary = JSON.parse(readFileSync(path.join(trialDir, runDir, 'summary.json'), 'utf8'));
  } else if (job.command === 'collect') {
    runDir = 'dataset';
    summary = JSON.parse(readFileSync(path.join(trialDir, runDir, 'card.json'), 'utf8'));
  } else {
    runDir = '.';
    summary = JSON.parse(printed.join('\n'));
    writeJsonAtomic(path.join(trialDir, 'summary.json'), summary);
  }
  return { runDir, summary };
}
