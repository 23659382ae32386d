import { readFileSync, existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { NotFoundError, ValidationError } from '../src/core/errors.js';
import { didYouMean } from '../src/core/suggest.js';
import { PACKAGE_ROOT } from '../src/core/package.js';

/**
 * Scene files: JSON under `scenes/`, one per world variant. This module holds the parts
 * every scene shares, the field helpers that give people-readable errors, and the loader.
 * Each task kind adds its own fields (sim/uav/scene.ts, sim/classic/...).
 */

/** The folder holding package.json, scenes/ and configs/: one up from sim/ in the sources, two from dist/sim/ when built. */
export { PACKAGE_ROOT };
export const SCENES_DIR = path.join(PACKAGE_ROOT, 'scenes');

/**
 * No number in a scene is larger than this in magnitude: the worlds are at most kilometres in
 * metres, and a value like 1e308 is a typo or an attack, not a setting (it overflows to Infinity
 * in the first product).
 */
export const MAX_MAGNITUDE = 1e6;

// Field helpers: one schema is the check, the type and the message.
export const num = () =>
  z
    .number({ error: (iss) => (iss.input === undefined ? 'required' : 'expected a number') })
    .min(-MAX_MAGNITUDE, `expected a number >= -${MAX_MAGNITUDE}`)
    .max(MAX_MAGNITUDE, `expected a number <= ${MAX_MAGNITUDE}`);
export const posNum = () => num().positive('expected a positive number');
export const nonNegNum = () => num().nonnegative('expected a number >= 0');
export const posInt = () => num().int('expected an integer').positive('expected a positive integer');
export const fraction = () => num().min(0, 'expected a number in [0, 1]').max(1, 'expected a number in [0, 1]');
export const vec3 = () => z.tuple([num(), num(), num()], { error: 'expected [x, y, z]' });
export const color = () => z.string().regex(/^#[0-9a-fA-F]{6}$/, 'expected a colour like "#4a90d9"');

/** A positive number no larger than `max` (a physical limit); `unit` is shown in the message. */
export const posNumUpTo = (max: number, unit: string) => posNum().max(max, `expected at most ${max} ${unit}`);

/** Cross-field checks (in a schema's superRefine): `check(ok, path, reason)` adds an issue at `path` when not ok. */
export type Check = (ok: boolean, path: PropertyKey[], message: string) => void;
export function checker(ctx: z.RefinementCtx): Check {
  return (ok, path, message) => {
    if (!ok) ctx.addIssue({ code: 'custom', path, message, input: undefined });
  };
}

/** The physics steps at least once per control step. */
export function checkRates(check: Check, s: { physicsHz: number; controlHz: number }): void {
  check(s.controlHz <= s.physicsHz, ['controlHz'], `expected at most physicsHz (${s.physicsHz}): the physics must step at least once per control step`);
}

/** `p` ([x, y, ...]) lies on the floor [0, Lx] × [0, Ly]. */
export function checkInsideArea(check: Check, path: PropertyKey[], p: readonly number[], size: readonly [number, number]): void {
  const inside = p[0] >= 0 && p[0] <= size[0] && p[1] >= 0 && p[1] <= size[1];
  check(inside, path, `[${p[0]}, ${p[1]}] lies outside the area [0, ${size[0]}] × [0, ${size[1]}]`);
}

/** Fields every scene has. */
export const sceneBase = {
  $schema: z.string().optional(),
  name: z.string().min(1, 'expected a non-empty name'),
  description: z.string().min(1, 'expected a one-line description'),
};

/** "devices[3].dataMbit" from zod's path array. */
export function formatPath(p: readonly PropertyKey[]): string {
  let out = '';
  for (const key of p) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out || '(root)';
}

/** Turn a zod failure into `file: path: reason` lines. */
export function validationErrorFrom(file: string, error: z.ZodError): ValidationError {
  const issues = error.issues.map((iss) => {
    let message = iss.message;
    if (iss.code === 'unrecognized_keys') message = `unknown field${iss.keys.length > 1 ? 's' : ''} ${iss.keys.map((k) => `"${k}"`).join(', ')}`;
    return { path: formatPath(iss.path), message };
  });
  const lines = issues.map((i) => `${file}: ${i.path}: ${i.message}`);
  return new ValidationError(lines.join('\n'), issues, { cause: error });
}

/** Parse `input` with `schema`, naming `file` in errors. */
export function parseWith<T>(schema: z.ZodType<T>, input: unknown, file: string): T {
  const res = schema.safeParse(input);
  if (!res.success) throw validationErrorFrom(file, res.error);
  return res.data;
}

/** Resolve a scene argument: a path to a .json file, or a name under scenes/. */
export function resolveScenePath(ref: string): string {
  if (ref.endsWith('.json') || ref.includes('/') || ref.includes(path.sep)) {
    const p = path.resolve(ref);
    if (!existsSync(p)) throw new NotFoundError(`scene file not found: ${ref}`);
    return p;
  }
  const p = path.join(SCENES_DIR, `${ref}.json`);
  if (!existsSync(p)) {
    const known = listSceneFiles().map((f) => path.basename(f, '.json'));
    throw new NotFoundError(`unknown scene "${ref}".${didYouMean(ref, known)} Known scenes: ${known.join(', ')}`);
  }
  return p;
}

export function listSceneFiles(): string[] {
  if (!existsSync(SCENES_DIR)) return [];
  return readdirSync(SCENES_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => path.join(SCENES_DIR, f));
}

/** Read JSON from a file, with the file named in a syntax error. */
export function readJsonFile(file: string, displayName = file): unknown {
  const text = readFileSync(file, 'utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ValidationError(`${displayName}: (root): invalid JSON: ${(err as Error).message}`, [], { cause: err });
  }
}

/** The name shown in messages: relative to the cwd when inside it. */
export function displayPath(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel && !rel.startsWith('..') ? rel : file;
}
