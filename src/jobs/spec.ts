import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ValidationError } from '../core/errors.js';
import { Rng } from '../core/rng.js';

/**
 * The sweep spec (`embody sweep <spec.json>`): one command, a grid and/or a random search over
 * config keys, seeds and scenes, and a trial budget. A trial is one (config, scene, seed); its
 * id is fixed by the spec alone, so a restarted coordinator enqueues the same jobs again.
 *
 *   { "name": "ppo-lr", "command": "train", "scene": "cartpole", "controller": "ppo", "steps": 2048,
 *     "seeds": [0, 1], "grid": { "learningRate": [0.0003, 0.001] } }
 */
const Value = z.union([z.number(), z.string(), z.boolean(), z.null(), z.array(z.unknown()), z.record(z.string(), z.unknown())]);

/** One random-search dimension, as in Optuna/Ray Tune: uniform, log-uniform, integer or a choice. */
const Distribution = z.union([
  z.object({ uniform: z.tuple([z.number(), z.number()]) }).strict(),
  z.object({ logUniform: z.tuple([z.number().positive(), z.number().positive()]) }).strict(),
  z.object({ int: z.tuple([z.number().int(), z.number().int()]) }).strict(),
  z.object({ choice: z.array(Value).min(1) }).strict(),
]);

/** `function`: any module's exported `(trial) => summary` (the check:* scripts run their seeds so). */
export const SWEEP_COMMANDS = ['train', 'train-offline', 'collect', 'eval', 'function'] as const;

export const SweepSpec = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, ".", "_" and "-" only (it names the sweep directory)'),
    command: z.enum(SWEEP_COMMANDS).default('train'),
    /** One scene, or several (`scenes`): every configuration runs on each. */
    scene: z.string().optional(),
    scenes: z.array(z.string()).min(1).optional(),
    controller: z.string().optional(),
    /** Env steps per trial (train). */
    steps: z.number().int().positive().optional(),
    seeds: z.array(z.number().int().nonnegative()).min(1).default([0]),
    /** Config values every trial shares, merged over the task defaults (train: configs/<scene>.<kind>.json). */
    config: z.record(z.string(), Value).default({}),
    /** Every combination of these values is a configuration. */
    grid: z.record(z.string(), z.array(Value).min(1)).default({}),
    /** Random search: each configuration draws one value per key (seeded by `searchSeed`). */
    random: z.record(z.string(), Distribution).optional(),
    /** Random search: configurations to draw per grid point (default: as many as `budget` allows, else 1). */
    samples: z.number().int().positive().optional(),
    searchSeed: z.number().int().default(0),
    /** The most trials this sweep may run; a grid that needs more is an error. */
    budget: z.number().int().positive().optional(),
    /** command "function": the module (a path from the package root) and the export it calls with { seed, scene, config, trialDir }. */
    module: z.string().optional(),
    export: z.string().default('runTrial'),
    /**
     * The options of train-offline, collect and eval, by name (e.g. { "dataset": "datasets/x" });
     * what each takes: src/jobs/trial.ts. For collect and eval the config is merged over them.
     */
    options: z.record(z.string(), Value).default({}),
    /** Command-line arguments, as specs before `options` had them: read so that old sweep.json files resume, and must be empty. */
    args: z.array(z.string()).max(0, 'command-line arguments are no longer taken: give the options by name in "options", e.g. { "dataset": "datasets/x" }').optional(),
    /** Per-trial wall-time bound (train --max-minutes). */
    maxMinutes: z.number().positive().optional(),
    /** The summary figure that ranks trials ("best so far"), a dotted path; default per command. */
    metric: z.string().optional(),
    mode: z.enum(['max', 'min']).default('max'),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.scene && s.scenes) ctx.addIssue({ code: 'custom', path: ['scenes'], message: 'give scene or scenes, not both' });
    if (s.command === 'train' && !s.controller) ctx.addIssue({ code: 'custom', path: ['controller'], message: 'train needs a controller' });
    if (s.command === 'function' && !s.module) ctx.addIssue({ code: 'custom', path: ['module'], message: 'a function sweep names its module' });
    if (!['train-offline', 'function'].includes(s.command) && !s.scene && !s.scenes) ctx.addIssue({ code: 'custom', path: ['scene'], message: `${s.command} needs a scene` });
    for (const k of Object.keys(s.grid)) if (s.random && k in s.random) ctx.addIssue({ code: 'custom', path: ['random', k], message: 'a key is either in grid or in random' });
  });
export type SweepSpec = z.infer<typeof SweepSpec>;

export interface Trial {
  /** c<config>-s<seed>, with the scene when the sweep has several: stable across restarts. */
  id: string;
  configIndex: number;
  /** The values this trial's configuration sets (spec.config, then grid and random draws). */
  config: Record<string, unknown>;
  scene: string | undefined;
  seed: number;
}

export function parseSweepSpec(value: unknown, source = 'sweep spec'): SweepSpec {
  const r = SweepSpec.safeParse(value);
  if (!r.success) {
    const issues = r.error.issues.map((i) => ({ path: i.path.join('.') || '(root)', message: i.message }));
    throw new ValidationError(`${source}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues);
  }
  return r.data;
}

export function readSweepSpec(file: string): SweepSpec {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ValidationError(`${file}: ${(err as Error).message}`, [], { cause: err });
  }
  return parseSweepSpec(value, file);
}

function gridPoints(grid: Record<string, unknown[]>): Record<string, unknown>[] {
  let points: Record<string, unknown>[] = [{}];
  for (const [key, values] of Object.entries(grid)) points = points.flatMap((p) => values.map((v) => ({ ...p, [key]: v })));
  return points;
}

function draw(d: z.infer<typeof Distribution>, rng: Rng): unknown {
  if ('uniform' in d) return d.uniform[0] + rng.uniform() * (d.uniform[1] - d.uniform[0]);
  if ('logUniform' in d) return Math.exp(Math.log(d.logUniform[0]) + rng.uniform() * (Math.log(d.logUniform[1]) - Math.log(d.logUniform[0])));
  if ('int' in d) return d.int[0] + Math.floor(rng.uniform() * (d.int[1] - d.int[0] + 1));
  return d.choice[Math.floor(rng.uniform() * d.choice.length)];
}

/** The sweep's trials, configuration by configuration (all seeds of one configuration together). */
export function expandTrials(spec: SweepSpec): Trial[] {
  const scenes: (string | undefined)[] = spec.scenes ?? [spec.scene];
  const points = gridPoints(spec.grid);
  const perConfig = scenes.length * spec.seeds.length;
  let configs: Record<string, unknown>[] = points;
  if (spec.random && Object.keys(spec.random).length) {
    const samples = spec.samples ?? (spec.budget ? Math.max(1, Math.floor(spec.budget / (perConfig * points.length))) : 1);
    const rng = new Rng(spec.searchSeed);
    configs = points.flatMap((p) => Array.from({ length: samples }, () => ({ ...p, ...Object.fromEntries(Object.entries(spec.random!).map(([k, d]) => [k, draw(d, rng)])) })));
  }
  const total = configs.length * perConfig;
  if (spec.budget !== undefined && total > spec.budget) {
    throw new ValidationError(`sweep ${spec.name}: ${configs.length} configuration(s) × ${scenes.length} scene(s) × ${spec.seeds.length} seed(s) = ${total} trials, over the budget of ${spec.budget}`, [
      { path: 'budget', message: `needs ${total}` },
    ]);
  }
  const trials: Trial[] = [];
  configs.forEach((c, configIndex) => {
    for (const scene of scenes) {
      for (const seed of spec.seeds) {
        const sceneTag = scenes.length > 1 ? `-${String(scene).replace(/[^A-Za-z0-9_-]+/g, '_')}` : '';
        trials.push({ id: `c${configIndex}${sceneTag}-s${seed}`, configIndex, config: { ...spec.config, ...c }, scene, seed });
      }
    }
  });
  return trials;
}

/** A short label of what a configuration varies (the grid and random keys), for tables and plots. */
export function configLabel(spec: SweepSpec, config: Record<string, unknown>): string {
  const keys = [...Object.keys(spec.grid), ...Object.keys(spec.random ?? {})];
  if (!keys.length) return 'default';
  return keys.map((k) => `${k}=${fmtValue(config[k])}`).join(' ');
}

function fmtValue(v: unknown): string {
  return typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(3)).toString() : JSON.stringify(v);
}
