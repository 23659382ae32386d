import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ValidationError } from '../core/errors.js';
import { PACKAGE_ROOT } from '../../sim/scene.js';
import type { DriverConfigKey } from '../../controllers/learner.js';

/**
 * The configuration of a training run, layered (later wins): learner defaults (the learner's own
 * schema) ← configs/<scene>.<kind>.json ← --config file ← --set / overrides ← --steps. The
 * driver's keys (controllers/learner.ts DRIVER_CONFIG_KEYS; learners skip them) start from
 * DRIVER_DEFAULTS. The merged result goes into the run's config.json (src/experiment/train.ts).
 */

export const DRIVER_DEFAULTS: { [K in Extract<DriverConfigKey, 'steps' | 'evalEvery' | 'evalEpisodes'>]: number } = { steps: 100_000, evalEvery: 10_000, evalEpisodes: 10 };

/** configs/<scene>.<kind>.json, or {} when there is none. */
export function defaultConfig(scene: string, kind: string): Record<string, unknown> {
  const file = path.join(PACKAGE_ROOT, 'configs', `${path.basename(scene).replace(/\.json$/, '')}.${kind}.json`);
  return existsSync(file) ? readJsonObject(file) : {};
}

/** The config of a new run: every layer merged, in order. `scene` is the name or file the user gave. */
export function mergeTrainConfig(opts: { scene: string; kind: string; configFile?: string; overrides?: Record<string, unknown>; steps?: number }): Record<string, unknown> {
  return {
    ...DRIVER_DEFAULTS,
    ...defaultConfig(opts.scene, opts.kind),
    ...(opts.configFile ? readJsonObject(opts.configFile) : {}),
    ...(opts.overrides ?? {}),
    ...(opts.steps ? { steps: opts.steps } : {}),
  };
}

/** A JSON file that must hold an object (a config, a checkpoint's driver.json); a clear error names the file. */
export function readJsonObject(file: string): Record<string, unknown> {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8'));
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('expected a JSON object');
    return v;
  } catch (err) {
    throw new ValidationError(`${file}: ${(err as Error).message}`, [], { cause: err });
  }
}
