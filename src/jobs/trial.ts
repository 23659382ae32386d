import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { writeJsonAtomic } from '../core/atomic.js';
import { ValidationError } from '../core/errors.js';
import { SWEEP_COMMANDS } from './spec.js';

/**
 * One trial = one job. This is the job handler: it runs inside a fresh child process
 * (src/jobs/child.ts), the same way for the local pool and for `embody worker`, and calls the
 * experiment functions the CLI commands call (TRIAL_RUNNERS, a static map), so a trial's
 * directory is what that command would write:
 * - train: experiment/train.ts `train()` into the trial directory, resumable from a checkpoint,
 *   with the options `embody train` passes (backend, select, record, argv);
 * - train-offline: experiment/train-offline.ts with the sweep's `controller` (dt or crdt), its
 *   `options` (dataset, from, lora, weighting, updates, eval) and the config as the DT config;
 * - collect: experiment/collect-dataset.ts into `<trialDir>/dataset`, with `controller` and the
 *   options and config merged (controller, mix, episodes, noise, chunk, id);
 * - eval: experiment/evaluate-policy.ts, the policy being the sweep's `controller`, with the
 *   options and config merged (episodes, controllerOpt); eval.json goes into the trial directory;
 * - function: the module the sweep names (its one plugin point).
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
  /** The command's own options (train-offline, collect, eval): see the runners below. */
  options: z.record(z.string(), z.unknown()).default({}),
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

type TrialRunner = (job: TrialJob, trialDir: string, hooks: TrialHooks) => Promise<TrialRunResult>;

export async function runTrial(job: TrialJob, trialDir: string, hooks: TrialHooks = {}): Promise<TrialRunResult> {
  return TRIAL_RUNNERS[job.command](job, trialDir, hooks);
}

/** What `embody train` passes to train() besides scene, controller, steps, seed and config, so that `--seeds` runs are its runs. */
const TrainTrialOptions = z.strictObject({
  backend: z.string().optional(),
  /** The evaluation figure that picks policy-best/ (`--select`). */
  select: z.strictObject({ metric: z.string() }).optional(),
  record: z.boolean().optional(),
  /** The command line recorded in config.json. */
  argv: z.array(z.string()).optional(),
});

async function runTrain(job: TrialJob, trialDir: string, hooks: TrialHooks): Promise<TrialRunResult> {
  const o = optionsOf(job, TrainTrialOptions, job.options);
  const { train } = await import('../experiment/train.js');
  const resume = resumableRun(trialDir);
  const r = await train({
    scene: job.scene ?? '',
    controller: job.controller ?? '',
    steps: job.steps,
    seed: job.seed,
    overrides: job.config,
    backend: o.backend,
    select: o.select,
    record: o.record,
    argv: o.argv,
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

/** A command's options (the sweep's `options`, then its config for collect and eval), checked against what it takes. */
function optionsOf<T extends z.ZodType>(job: TrialJob, schema: T, values: Record<string, unknown>): z.infer<T> {
  const r = schema.safeParse(values);
  if (!r.success) {
    const issues = r.error.issues.map((i) => ({ path: i.path.map(String).join('.') || '(root)', message: i.message }));
    throw new ValidationError(`sweep ${job.sweepId}, trial ${job.trialId} (${job.command}): ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues);
  }
  return r.data;
}

const count = z.number().int().positive();

const TrainOfflineTrialOptions = z.strictObject({
  dataset: z.string(),
  from: z.string().optional(),
  lora: count.optional(),
  weighting: z.enum(['uniform', 'return', 'advantage']).optional(),
  updates: count.optional(),
  /** Evaluation episodes afterwards (default 5). */
  eval: z.number().int().nonnegative().optional(),
});

async function runTrainOffline(job: TrialJob, trialDir: string): Promise<TrialRunResult> {
  const o = optionsOf(job, TrainOfflineTrialOptions, job.options);
  const { trainOffline } = await import('../experiment/train-offline.js');
  const r = await trainOffline({
    dataset: o.dataset,
    controller: job.controller ?? 'dt',
    from: o.from,
    lora: o.lora,
    weighting: o.weighting,
    updates: o.updates,
    config: job.config,
    seed: job.seed,
    evalEpisodes: o.eval,
    out: trialDir,
    log: (line) => console.log(line),
  });
  return { runDir: path.relative(trialDir, r.runDir), summary: r.summary };
}

const CollectTrialOptions = z.strictObject({
  controller: z.string().optional(),
  mix: z.string().optional(),
  episodes: count.default(100),
  noise: z.number().nonnegative().optional(),
  chunk: count.optional(),
  id: z.string().optional(),
});

async function runCollect(job: TrialJob, trialDir: string): Promise<TrialRunResult> {
  const o = optionsOf(job, CollectTrialOptions, { ...(job.controller ? { controller: job.controller } : {}), ...job.options, ...job.config });
  const { collectDataset } = await import('../experiment/collect-dataset.js');
  const runDir = 'dataset';
  const { card } = await collectDataset({ scene: job.scene ?? '', ...o, seed: job.seed, out: path.join(trialDir, runDir) });
  console.log(`${card.datasetId}: ${card.episodes} episodes, ${card.steps} steps → ${path.join(trialDir, runDir)}`);
  return { runDir, summary: JSON.parse(readFileSync(path.join(trialDir, runDir, 'card.json'), 'utf8')) };
}

const EvalTrialOptions = z.strictObject({
  /** The policy directory or run (else the sweep's `controller`). */
  policy: z.string().optional(),
  episodes: count.default(10),
  /** Controller options, as `--controller-opt key=value` gives them. */
  controllerOpt: z.record(z.string(), z.string()).optional(),
});

async function runEval(job: TrialJob, trialDir: string): Promise<TrialRunResult> {
  const o = optionsOf(job, EvalTrialOptions, { ...(job.controller ? { policy: job.controller } : {}), ...job.options, ...job.config });
  if (!o.policy) throw new ValidationError(`sweep ${job.sweepId}, trial ${job.trialId} (eval): name the policy as the sweep's "controller"`);
  const { evaluatePolicyDir } = await import('../experiment/evaluate-policy.js');
  const r = await evaluatePolicyDir({ policy: o.policy, scene: job.scene, episodes: o.episodes, seed: job.seed, options: o.controllerOpt, out: path.join(trialDir, 'eval.json') });
  const summary = { policy: r.policyDir, scene: r.scene, kind: r.manifest.kind, episodes: o.episodes, seed: job.seed, summary: r.summary };
  console.log(JSON.stringify(summary, null, 2));
  writeJsonAtomic(path.join(trialDir, 'summary.json'), summary);
  return { runDir: '.', summary };
}

/** Each sweep command's runner, by a static map: tsc and the architecture check see every one. */
const TRIAL_RUNNERS: Record<TrialJob['command'], TrialRunner> = {
  train: runTrain,
  'train-offline': runTrainOffline,
  collect: runCollect,
  eval: runEval,
  function: runFunction,
};
