import { z } from 'zod';
import { ValidationError } from '../src/core/errors.js';
import type { Fence, Point3 } from './task.js';

/**
 * Helpers every TaskModel uses for its part of the safety contract (sim/task.ts): one strict
 * zod schema per setpoint, and axis-aligned fences.
 */

/** A finite number: `"1000"`, NaN and ±Infinity are refused, never converted. */
export const finiteNumber = z.number().refine(Number.isFinite, 'expected a finite number');

/**
 * Parse `raw` with a strict object schema. Only a plain object (prototype Object.prototype or
 * null) is accepted, and only its own properties count: `constructor`, `toString` and
 * `__proto__` are unknown fields, not inherited ones.
 */
export function parseSetpointWith<T>(task: string, schema: z.ZodType<T>, raw: unknown): T {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ValidationError(`${task} setpoint: expected an object`);
  const proto = Object.getPrototypeOf(raw);
  if (proto !== Object.prototype && proto !== null) throw new ValidationError(`${task} setpoint: expected a plain object`);
  // Copy own enumerable properties into a null-prototype object, so that no lookup below can
  // reach Object.prototype.
  const own: Record<string, unknown> = Object.create(null);
  for (const k of Object.keys(raw)) own[k] = (raw as Record<string, unknown>)[k];
  if (Object.hasOwn(raw, '__proto__')) throw new ValidationError(`${task} setpoint: field __proto__ is not allowed`);
  const r = schema.safeParse(own);
  if (!r.success) {
    const i = r.error.issues[0];
    const where = i.path.join('.') || (i.code === 'unrecognized_keys' ? i.keys.join(', ') : '(root)');
    throw new ValidationError(`${task} setpoint: ${where}: ${i.message}`, [], { cause: r.error });
  }
  return r.data;
}

/** A box fence from the tasks' `[xmin, ymin, zmin, xmax, ymax, zmax]`. */
export function boxFence(bounds: number[], margin: Point3): Fence {
  return { kind: 'box', min: [bounds[0], bounds[1], bounds[2]], max: [bounds[3], bounds[4], bounds[5]], margin };
}

/**
 * Reach of a velocity-controlled axis within `horizonS`: fly at the setpoint `v`, then brake
 * at `accel`, starting from the faster (outwards) of the setpoint and the current velocity
 * `cur`. Returns [low, high] positions along the axis.
 */
export function axisReach(p: number, v: number, cur: number, horizonS: number, accel: number): [number, number] {
  const up = Math.max(v, cur, 0);
  const down = Math.min(v, cur, 0);
  const hi = p + Math.max(v, 0) * horizonS + (up * up) / (2 * accel);
  const lo = p + Math.min(v, 0) * horizonS - (down * down) / (2 * accel);
  return [lo, hi];
}
