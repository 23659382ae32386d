import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { loadRapier } from '../rapier.js';
import { buildStaticWorld } from '../world.js';
import { HeightmapCamera, localMax, maxHeight, type HeightmapGrid, type HeightmapImage } from './heightmap.js';
import { LidarRing } from './lidar.js';

/** Real Rapier worlds; the sensors cast real rays. */

/** 10 × 10 pixels of 2 cm over [0, 0.2]². */
function grid(): HeightmapGrid {
  const x0 = 0;
  const y0 = 0;
  const res = 0.02;
  const P = 10;
  return {
    x0,
    y0,
    res,
    P,
    worldToPixel: (x, y) => [Math.min(P - 1, Math.max(0, Math.floor((y - y0) / res))), Math.min(P - 1, Math.max(0, Math.floor((x - x0) / res)))],
  };
}

const image = (n: number): HeightmapImage => ({ heightmap: new Float32Array(n), colorMap: new Uint8Array(n), targetMask: new Uint8Array(n) });

describe('heightmap camera', () => {
  it('sees a labelled box at its height and class, the bare table as 0, and not a kinematic body', async () => {
    const R = await loadRapier();
    // A table that covers only x < 0.16: the last two columns see nothing at all.
    const { world } = buildStaticWorld(R, { timestep: 1 / 240, groundSize: [0.16, 0.2], groundMargin: 0, groundHalfThickness: 0.025, boxes: [] });
    // A 4 cm cube centred on pixel (row 2, col 3) and its neighbours: x ∈ [0.04, 0.08], y ∈ [0.02, 0.06].
    const box = world.createRigidBody(R.RigidBodyDesc.fixed().setTranslation(0.06, 0.04, 0.02));
    const boxCollider = world.createCollider(R.ColliderDesc.cuboid(0.02, 0.02, 0.02), box);
    // A kinematic plate over the whole area, as the gripper would be: the camera must look through it.
    const plate = world.createRigidBody(R.RigidBodyDesc.kinematicPositionBased().setTranslation(0.1, 0.1, 0.5));
    world.createCollider(R.ColliderDesc.cuboid(0.2, 0.2, 0.01), plate);
    world.step();

    const g = grid();
    const camera = new HeightmapCamera(R, g);
    const out = image(g.P * g.P);
    const targetClass = 7;
    const seen = camera.capture(world, new Map([[boxCollider.handle, targetClass]]), targetClass, out);

    const at = (row: number, col: number) => row * g.P + col;
    // Pixel centres inside the box footprint: cols 2, 3 (x 0.05, 0.07), rows 1, 2 (y 0.03, 0.05).
    expect(seen).toBe(4);
    for (const [r, c] of [[1, 2], [1, 3], [2, 2], [2, 3]]) {
      expect(out.heightmap[at(r, c)]).toBeCloseTo(0.04, 5);
      expect(out.colorMap[at(r, c)]).toBe(targetClass);
      expect(out.targetMask[at(r, c)]).toBe(1);
    }
    // The bare table: height 0, class 0 (the table is not in the class map).
    expect(out.heightmap[at(6, 6)]).toBeCloseTo(0, 5);
    expect(out.colorMap[at(6, 6)]).toBe(0);
    expect(out.targetMask[at(6, 6)]).toBe(0);
    // Past the table's edge no ray hits: 0 everywhere.
    expect(out.heightmap[at(5, 9)]).toBe(0);
    expect(out.colorMap[at(5, 9)]).toBe(0);

    expect(maxHeight(out.heightmap)).toBeCloseTo(0.04, 5);
    // A ±2 cm window around (0.12, 0.12) does not reach the box; around (0.1, 0.04) it does.
    expect(localMax(g, out.heightmap, 0.12, 0.12, 0.02)).toBeCloseTo(0, 5);
    expect(localMax(g, out.heightmap, 0.1, 0.04, 0.04)).toBeCloseTo(0.04, 5);
    world.free();
  });
});

describe('lidar ring', () => {
  async function room() {
    const R = await loadRapier();
    // A 4 m × 2 m room: walls 0.2 m thick whose inner faces are x = 0, 4 and y = 0, 2.
    const { world } = buildStaticWorld(R, {
      timestep: 0.01,
      groundSize: [4, 2],
      boxes: [
        { center: [-0.1, 1, 0.5], size: [0.2, 2, 1], color: '#888888' },
        { center: [4.1, 1, 0.5], size: [0.2, 2, 1], color: '#888888' },
        { center: [2, -0.1, 0.5], size: [4, 0.2, 1], color: '#888888' },
        { center: [2, 2.1, 0.5], size: [4, 0.2, 1], color: '#888888' },
      ],
    });
    // The robot: a cylinder the scan plane cuts through, which the lidar must not see.
    const robot = world.createRigidBody(R.RigidBodyDesc.dynamic().setTranslation(1, 1, 0.2).setGravityScale(0));
    world.createCollider(R.ColliderDesc.ball(0.2), robot);
    world.step();
    return { R, world, robot };
  }

  it('reads the distance to each wall from a pose, ignoring the robot itself; misses read maxRange', async () => {
    const { R, world, robot } = await room();
    const lidar = new LidarRing(R, { rays: 4, maxRange: 2.5, height: 0.2, noiseStd: 0 }, (k) => (k * Math.PI) / 2);
    const ranges = new Float32Array(4);
    // At (1, 1) facing +x: ahead 3 m (beyond range), left 1 m, behind 1 m, right 1 m.
    lidar.scan(world, [1, 1, 0], ranges, new Rng(0), robot);
    expect(ranges[0]).toBeCloseTo(2.5, 5);
    expect(ranges[1]).toBeCloseTo(1, 4);
    expect(ranges[2]).toBeCloseTo(1, 4);
    expect(ranges[3]).toBeCloseTo(1, 4);
    // Hits in world coordinates, the miss left out: (1, 2), (0, 1), (1, 0).
    const hits = lidar.hits([1, 1, 0], ranges);
    expect(hits).toHaveLength(3);
    expect(hits[0][0]).toBeCloseTo(1, 4);
    expect(hits[0][1]).toBeCloseTo(2, 4);
    expect(hits[1][0]).toBeCloseTo(0, 4);
    expect(hits[2][1]).toBeCloseTo(0, 4);
    world.free();
  });

  it('adds seeded noise clamped to [0, maxRange]', async () => {
    const { R, world, robot } = await room();
    const lidar = new LidarRing(R, { rays: 16, maxRange: 2.5, height: 0.2, noiseStd: 0.5 }, (k) => (2 * Math.PI * k) / 16);
    const a = new Float32Array(16);
    const b = new Float32Array(16);
    const exact = new Float32Array(16);
    lidar.scan(world, [1, 1, 0.3], a, new Rng(3), robot);
    lidar.scan(world, [1, 1, 0.3], b, new Rng(3), robot);
    new LidarRing(R, { ...lidar.spec, noiseStd: 0 }, (k) => (2 * Math.PI * k) / 16).scan(world, [1, 1, 0.3], exact, new Rng(3), robot);
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(exact));
    for (const d of a) {
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(2.5);
    }
    world.free();
  });
});
