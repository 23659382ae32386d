import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.js';
import type { Box } from '../../src/core/spaces.js';
import { createEnv, loadScene, validateSceneObject } from '../registry.js';
import type { NavState } from './model.js';

/** A bare 6 × 4 m room with no noise: the base for the physics and sensor checks. */
function room(extra: Record<string, unknown> = {}) {
  return validateSceneObject({
    name: 'test-room',
    description: 'test room',
    task: 'navigation',
    area: { size: [6, 4] },
    walls: { segments: [
      { from: [0, 0], to: [6, 0] }, { from: [6, 0], to: [6, 4] }, { from: [6, 4], to: [0, 4] }, { from: [0, 4], to: [0, 0] },
    ] },
    places: [{ name: 'west', position: [1, 2] }, { name: 'east', position: [5, 2] }],
    goals: { count: 1, start: ['west'], from: ['east'], startJitter: 0 },
    ...extra,
  });
}

/** Put the robot at a pose by resetting until the drawn heading is close, then read state. */
function drive(env: Awaited<ReturnType<typeof createEnv>>, action: [number, number], steps: number): NavState {
  for (let k = 0; k < steps; k++) env.step(new Float32Array(action));
  return env.state as NavState;
}

describe('navigation task', () => {
  it('loads both scenes with at least 5 named places each', async () => {
    for (const name of ['nav-apartment', 'nav-office']) {
      const env = await createEnv(name, { seed: 0 });
      const places = (env.describe().overlay as { places: unknown[] }).places;
      expect(places.length).toBeGreaterThanOrEqual(5);
      expect((env.spec.actionSpace as Box).shape).toEqual([2]);
      expect((env.spec.observationSpace as Box).shape).toEqual([32 + 5 + 7]);
      env.close();
    }
  });

  it('the lidar reads the distance to the wall ahead, and the robot tracks a speed command', async () => {
    const env = await createEnv(room(), { seed: 1 });
    env.reset({ seed: 1 });
    const s0 = env.state as NavState;
    const [x, y, th] = s0.pose;
    // Ray 0 points along the heading: compare with the analytic distance to the inner wall faces (0.05 thick half).
    const c = Math.cos(th);
    const sn = Math.sin(th);
    const tx = c > 0 ? (5.95 - x) / c : c < 0 ? (0.05 - x) / c : Infinity;
    const ty = sn > 0 ? (3.95 - y) / sn : sn < 0 ? (0.05 - y) / sn : Infinity;
    expect(s0.lidar[0]).toBeCloseTo(Math.min(tx, ty, 5), 2);
    // Turn in place, then drive: no noise, so |v| reaches the command and ω the turn command.
    let s = drive(env, [0, 0.5], 10);
    expect(s.vel[1]).toBeCloseTo(1.0, 1);
    expect(Math.hypot(s.pose[0] - x, s.pose[1] - y)).toBeLessThan(0.01);
    env.close();
    const env2 = await createEnv(room({ robot: { maxSpeed: 0.5 } }), { seed: 1 });
    env2.reset({ seed: 2 });
    s = drive(env2, [0.5, 0], 10);
    expect(s.vel[0]).toBeCloseTo(0.25, 2);
    env2.close();
  });

  it('a turn bias makes a straight command curve (the drift the critic corrects)', async () => {
    const clean = await createEnv(room(), { seed: 3 });
    const biased = await createEnv(room({ noise: { turnBias: 0.3 } }), { seed: 3 });
    clean.reset({ seed: 5 });
    biased.reset({ seed: 5 });
    const th0 = (clean.state as NavState).pose[2];
    const a = drive(clean, [0.3, 0], 15);
    const b = drive(biased, [0.3, 0], 15);
    expect(Math.abs(a.pose[2] - th0)).toBeLessThan(1e-3);
    expect(Math.abs(b.pose[2] - th0)).toBeGreaterThan(0.05);
    clean.close();
    biased.close();
  });

  it('the same seed gives the same task and the same result', async () => {
    const run = async () => {
      const env = await createEnv('nav-apartment', { seed: 0 });
      env.reset({ seed: 42 });
      const s = env.state as NavState;
      const task = { names: [...s.goalNames], l: s.shortestPath };
      for (let k = 0; k < 80; k++) env.step(new Float32Array([Math.sin(k / 7), Math.cos(k / 5)]));
      const out = { task, pose: [...(env.state as NavState).pose], lidar: Array.from((env.state as NavState).lidar), coll: (env.state as NavState).collisions };
      env.close();
      return out;
    };
    const a = await run();
    const b = await run();
    expect(b).toEqual(a);
    const env = await createEnv('nav-apartment', { seed: 0 });
    env.reset({ seed: 43 });
    expect((env.state as NavState).goalNames).not.toEqual(a.task.names);
    env.close();
  });

  it('counts a collision when driving into a wall, and reaches a goal', async () => {
    const env = await createEnv(room({ goals: { count: 1, start: ['west'], from: ['east'], startJitter: 0 } }), { seed: 0 });
    env.reset({ seed: 0 });
    // Face east (turn until cos θ ≈ 1), then drive east: the goal is on the way, the wall after it.
    let s = env.state as NavState;
    for (let k = 0; k < 60 && Math.cos(s.pose[2]) < 0.999; k++) {
      const err = Math.atan2(-Math.sin(s.pose[2]), Math.cos(s.pose[2]));
      env.step(new Float32Array([0, Math.max(-1, Math.min(1, 2 * err))]));
      s = env.state as NavState;
    }
    let reached = false;
    for (let k = 0; k < 120 && !reached; k++) reached = env.step(new Float32Array([1, 0])).terminated;
    expect(reached).toBe(true);
    const m = env.model.metrics(env.state);
    expect(m.success).toBe(1);
    expect(m.spl).toBeGreaterThan(0.8);
    expect(m.spl).toBeLessThanOrEqual(1);
    // Keep driving into the east wall.
    const env2 = await createEnv(room({ goals: { count: 1, start: ['west'], from: ['east'], startJitter: 0 }, places: [{ name: 'west', position: [1, 2] }, { name: 'east', position: [1, 3.5] }] }), { seed: 0 });
    env2.reset({ seed: 0 });
    for (let k = 0; k < 150; k++) env2.step(new Float32Array([1, 0]));
    expect((env2.state as NavState).collisions).toBeGreaterThanOrEqual(1);
    env.close();
    env2.close();
  });

  it('a place that cannot be reached is a scene error naming it', () => {
    expect(() =>
      room({
        furniture: [{ name: 'cage', center: [5, 2], size: [1.6, 1.6, 1] }],
      }),
    ).not.toThrow(); // the schema alone passes; the layout check runs when the task is built
    return expect(createEnv(room({ places: [{ name: 'west', position: [1, 2] }, { name: 'east', position: [5, 2] }], furniture: [
      { name: 'a', center: [5, 1.2], size: [2, 0.1, 1] }, { name: 'b', center: [5, 2.8], size: [2, 0.1, 1] },
      { name: 'c', center: [4, 2], size: [0.1, 1.7, 1] }, { name: 'd', center: [6, 2], size: [0.1, 1.7, 1] },
    ] }))).rejects.toThrow(/place "east" cannot be reached/);
  });

  it('scene errors name the field', () => {
    expect(() => validateSceneObject({ ...loadScene('nav-apartment').scene, robot: { radius: -1 } }, 'x.json')).toThrow(ValidationError);
    expect(() => validateSceneObject({ ...loadScene('nav-apartment').scene, robot: { radius: -1 } }, 'x.json')).toThrow(/robot.radius/);
  });
});
