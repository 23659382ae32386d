import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { createEnv, loadScene } from '../registry.js';
import { buildManipulationTask, manipulationSceneSchema, type ManipulationBackend, type ManipulationModel } from './index.js';

/** Real Rapier, real primitives: nothing here is mocked. */
const scene = manipulationSceneSchema.parse({ task: 'manipulation', name: 'test', description: 'test scene' });
let backend: ManipulationBackend;
let model: ManipulationModel;

beforeAll(async () => {
  const bundle = await buildManipulationTask(scene);
  backend = bundle.backend as ManipulationBackend;
  model = bundle.model as ManipulationModel;
});

const box = (position: [number, number, number], size = [0.04, 0.04, 0.04], isTarget = true, yaw = 0) => ({
  shape: 'box' as const,
  size,
  position,
  yaw,
  isTarget,
});

describe('manipulation world', () => {
  it('a grasp on an isolated box succeeds, by friction alone', () => {
    backend.resetWith([box([0.03, -0.02, 0.02], [0.04, 0.04, 0.04], true, 0.3)]);
    const s = backend.advance({ primitive: 'grasp', x: 0.03, y: -0.02, theta: 0.3 }, 2);
    expect(s.lastGraspSuccess).toBe(true);
    expect(s.targetGrasped).toBe(true);
    expect(model.done(s)).toEqual({ terminated: true, reason: 'target-grasped' });
  });

  it('grasps hold a box up to half a rotation step (11°) off the gripper axis, and a lying-down target', () => {
    for (const [size, yaw, theta] of [
      [[0.035, 0.035, 0.025], 0.19, 0],
      [[0.04, 0.04, 0.04], 0.3, 0.4],
      [[0.025, 0.035, 0.035], 0.8, 0.6],
    ] as [number[], number, number][]) {
      backend.resetWith([box([-0.05, 0.04, size[2] / 2], size, true, yaw)]);
      const s = backend.advance({ primitive: 'grasp', x: -0.05, y: 0.04, theta }, 2);
      expect(s.targetGrasped, `size ${size} yaw ${yaw} θ ${theta}`).toBe(true);
    }
  });

  it('a grasp on an empty part of the table fails', () => {
    backend.resetWith([box([0.15, 0.15, 0.02])]);
    const s = backend.advance({ primitive: 'grasp', x: -0.1, y: -0.05, theta: 0 }, 2);
    expect(s.lastGraspSuccess).toBe(false);
    expect(s.targetGrasped).toBe(false);
    expect(s.grasps).toBe(1);
    // The box was not touched.
    const p = backend.objectPositions()[0].position;
    expect(Math.hypot(p[0] - 0.15, p[1] - 0.15)).toBeLessThan(0.002);
  });

  it('a push moves an object about 10 cm along θ', () => {
    backend.resetWith([box([0, 0, 0.02], [0.04, 0.04, 0.04], false), box([0.18, 0.18, 0.0125], [0.035, 0.035, 0.025])]);
    // Start 3 cm behind the box's centre (1 cm of free table behind its face) and push along +x.
    const s = backend.advance({ primitive: 'push', x: -0.035, y: 0, theta: 0 }, 2);
    const p = backend.objectPositions().find((o) => !o.isTarget)!.position;
    // The finger travels 10 cm and meets the box after ~1 cm: the box moves 8–10 cm.
    expect(p[0]).toBeGreaterThan(0.07);
    expect(p[0]).toBeLessThan(0.11);
    expect(Math.abs(p[1])).toBeLessThan(0.02);
    expect(s.pushes).toBe(1);
  });

  it('the heightmap gives a known box its height within one cell, and its footprint', () => {
    const s = backend.resetWith([box([0.05, -0.05, 0.03], [0.06, 0.06, 0.06])]);
    const g = model.geometry;
    const [r, c] = g.worldToPixel(0.05, -0.05);
    expect(Math.abs(s.heightmap[r * g.P + c] - 0.06)).toBeLessThan(g.res);
    expect(s.targetMask[r * g.P + c]).toBe(1);
    expect(s.colorMap[r * g.P + c]).toBe(model.targetClass);
    // Table elsewhere.
    const [r2, c2] = g.worldToPixel(-0.15, 0.15);
    expect(s.heightmap[r2 * g.P + c2]).toBeLessThan(0.002);
    // The footprint is 6 cm across: 6 / 0.7 ≈ 8.6 px, so 7–10 px per side.
    const side = Math.sqrt(s.targetPixels);
    expect(side).toBeGreaterThan(0.06 / g.res - 2);
    expect(side).toBeLessThan(0.06 / g.res + 2);
  });

  it('the same seed gives the same clutter, another seed another', () => {
    const a = backend.reset(new Rng(7)).heightmap.slice();
    const aPos = backend.objectPositions();
    const b = backend.reset(new Rng(7)).heightmap.slice();
    const bPos = backend.objectPositions();
    expect(bPos).toEqual(aPos);
    expect(Array.from(b)).toEqual(Array.from(a));
    const c = backend.reset(new Rng(8)).heightmap;
    expect(Array.from(c)).not.toEqual(Array.from(a));
  });

  it('hides the target when asked, and shows it when not', async () => {
    const hidden = await buildManipulationTask(manipulationSceneSchema.parse({ ...scene, hiddenProbability: 1 }));
    let hid = 0;
    for (let seed = 0; seed < 3; seed++) if (hidden.backend.reset(new Rng(seed)).targetPixels === 0) hid++;
    expect(hid).toBeGreaterThanOrEqual(2);
    hidden.backend.close();
    const visible = await buildManipulationTask(manipulationSceneSchema.parse({ ...scene, hiddenProbability: 0 }));
    expect(visible.backend.reset(new Rng(0)).targetPixels).toBeGreaterThan(0);
    visible.backend.close();
  });

  it('builds irregular convex hulls, drops the target among the clutter, and replays a seed exactly', async () => {
    const hard = manipulationSceneSchema.parse({
      ...scene,
      hiddenProbability: 0,
      clutter: { count: [10, 10], cylinderFraction: 0.2, hullFraction: 0.5, spawnRadius: 0.04 },
      target: { placement: 'among' },
    });
    const a = await buildManipulationTask(hard);
    const b = await buildManipulationTask(hard);
    try {
      const hulls = a.backend.describe().bodies.filter((o) => o.name.startsWith('hull-'));
      expect(hulls.length).toBeGreaterThan(2);
      const sa = a.backend.reset(new Rng(4));
      const sb = b.backend.reset(new Rng(4));
      expect(sa.targetPixels).toBeGreaterThan(0);
      expect(Array.from(sb.heightmap)).toEqual(Array.from(sa.heightmap));
      expect((b.backend as ManipulationBackend).objectPositions()).toEqual((a.backend as ManipulationBackend).objectPositions());
    } finally {
      a.backend.close();
      b.backend.close();
    }
  });

  it('a target between two walls: with descentStops a grasp across them finds no room and fails; along the channel it holds', async () => {
    const stops = await buildManipulationTask(manipulationSceneSchema.parse({ ...scene, gripper: { openWidth: 0.075, descentStops: true } }));
    const wedged = stops.backend as ManipulationBackend;
    const layout = () =>
      wedged.resetWith([
        box([0, 0, 0.015], [0.05, 0.035, 0.03]),
        box([0, 0.0335, 0.02], [0.082, 0.03, 0.04], false),
        box([0, -0.0335, 0.02], [0.082, 0.03, 0.04], false),
      ]);
    try {
      layout();
      // Closing axis along y: the fingers land on the walls' tops and close above the target.
      const across = wedged.advance({ primitive: 'grasp', x: 0, y: 0, theta: Math.PI / 2 }, 2);
      expect(across.targetGrasped).toBe(false);
      // The fingers stopped on the walls instead of shoving them aside (without descentStops they move ~1 cm).
      for (const w of wedged.objectPositions().filter((o) => !o.isTarget)) expect(Math.abs(Math.abs(w.position[1]) - 0.0335)).toBeLessThan(0.003);
      layout();
      const along = wedged.advance({ primitive: 'grasp', x: 0, y: 0, theta: 0 }, 2);
      expect(along.targetGrasped).toBe(true);
    } finally {
      wedged.close();
    }
  });

  it('wedged scenes stand two walls against the target\'s long sides, a finger thick or more', async () => {
    const env = await createEnv('manip-clutter', { seed: 0 });
    const wedged = env.bundle.backend as ManipulationBackend;
    try {
      for (let seed = 0; seed < 2; seed++) {
        env.reset({ seed });
        const all = wedged.objectPositions();
        const t = all.find((o) => o.isTarget)!.position;
        const walls = all.filter((o) => o.name.startsWith('wall-'));
        expect(walls).toHaveLength(2);
        for (const w of walls) {
          const d = Math.hypot(w.position[0] - t[0], w.position[1] - t[1]);
          // Centre = half the target's width (1.75 cm) + gap + half a wall (1.25–1.75 cm), within a few mm after settling.
          expect(d).toBeGreaterThan(0.028);
          expect(d).toBeLessThan(0.04);
        }
        // Opposite sides: the target lies between them.
        const [a, b] = walls.map((w) => [w.position[0] - t[0], w.position[1] - t[1]]);
        expect(a[0] * b[0] + a[1] * b[1]).toBeLessThan(0);
      }
    } finally {
      env.close();
    }
  });

  it('hull + cylinder fractions above 1 are refused, naming the field', () => {
    expect(() => manipulationSceneSchema.parse({ ...scene, clutter: { cylinderFraction: 0.6, hullFraction: 0.5 } })).toThrow(/hullFraction/);
  });

  it('the hard scenes hide every target fully in manip-hidden', async () => {
    const env = await createEnv('manip-hidden', { seed: 0 });
    try {
      for (let seed = 0; seed < 2; seed++) expect(env.reset({ seed }).obs.subarray(2 * 64 * 64).some((v) => v > 0.5)).toBe(false);
    } finally {
      env.close();
    }
  });
});

describe('manipulation task model', () => {
  it('discrete actions decode to pixel, rotation and primitive, and back', () => {
    const g = model.geometry;
    const a = g.encode('grasp', 5, 10, 20);
    const sp = model.toSetpoint(a);
    expect(sp.primitive).toBe('grasp');
    expect(sp.theta).toBeCloseTo((5 * 2 * Math.PI) / 16);
    expect(g.worldToPixel(sp.x, sp.y)).toEqual([10, 20]);
    expect(model.actionSpace.kind === 'discrete' && model.actionSpace.n).toBe(2 * 16 * 64 * 64);
    expect(() => model.toSetpoint(-1)).toThrow(/integer/);
  });

  it('grasp rewards: 1 for the target, 0.5 on the target, 0 elsewhere', () => {
    const prev = backend.resetWith([box([0, 0, 0.02])]);
    const snap = { ...prev, targetMask: prev.targetMask.slice(), heightmap: prev.heightmap.slice() };
    const on = { primitive: 'grasp' as const, x: 0, y: 0, theta: 0 };
    expect(model.reward(snap, { ...snap, targetGrasped: true }, on)).toBe(1);
    expect(model.reward(snap, snap, on)).toBe(0.5);
    expect(model.reward(snap, snap, { ...on, x: 0.15 })).toBe(0);
  });

  it('push rewards: 0.25 when the push line crosses the target', () => {
    const prev = backend.resetWith([box([0, 0, 0.02])]);
    const crossing = { primitive: 'push' as const, x: -0.05, y: 0, theta: 0 };
    expect(model.reward(prev, prev, crossing)).toBe(0.25);
    expect(model.reward(prev, prev, { ...crossing, y: 0.15 })).toBe(0);
  });

  it('scene files load, and an env steps through the registry', async () => {
    expect(loadScene('manip-clutter').scene.task).toBe('manipulation');
    expect(loadScene('manip-hidden').scene.task).toBe('manipulation');
    const env = await createEnv('manip-clutter', { seed: 1 });
    // The description is sent once, before any reset, and must hold for every episode.
    const desc = env.describe();
    const ids = new Set(desc.bodies.map((b) => b.id));
    const { obs } = env.reset();
    expect(obs.length).toBe(3 * 64 * 64);
    const r = env.step(model.geometry.encode('push', 0, 32, 32));
    expect(r.obs.length).toBe(obs.length);
    expect(Number.isFinite(r.reward)).toBe(true);
    const f = env.frame(0);
    expect(f.overlay.primitive).toMatchObject({ primitive: 'push' });
    expect(f.bodyIds.every((id) => ids.has(id))).toBe(true);
    expect(f.poses.length).toBe(7 * f.bodyIds.length);
    env.reset({ seed: 99 });
    expect(env.frame(1).bodyIds).toEqual(f.bodyIds);
    expect(env.describe().bodies.some((b) => b.role === 'gripper')).toBe(true);
    env.close();
  });
});
