import type { Rapier, World } from './rapier.js';
import type { BodyDescription } from '../src/core/frames.js';

/**
 * The static world of every Rapier task (uav, navigation, manipulation): the world itself
 * (gravity, timestep), a ground slab whose top face is z = 0, and static boxes, each with its
 * viewer description. Each task then adds its own dynamic and kinematic bodies (a drone, a
 * robot and movable furniture, clutter and a gripper), which no two tasks share.
 * z is up; gravity is −z.
 */
export interface StaticBox {
  name?: string;
  center: [number, number, number];
  size: [number, number, number];
  color: string;
}

export interface StaticWorld {
  world: World;
  /** Descriptions of the static bodies, for the viewer (ids from `firstId`). */
  bodies: BodyDescription[];
}

const IDENTITY = [0, 0, 0, 1];

export function buildStaticWorld(
  R: Rapier,
  opts: {
    gravity?: number;
    timestep: number;
    /** The area the ground must cover, m; it extends `groundMargin` beyond it on every side. */
    groundSize: [number, number];
    groundCenter?: [number, number];
    groundColor?: string;
    /** Default 50 m: an outdoor or indoor task never sees the ground's edge. A tabletop's edge is part of the task. */
    groundMargin?: number;
    /** Default 0.5 m. */
    groundHalfThickness?: number;
    /** Default 0.8. */
    groundFriction?: number;
    /** The viewer name of the ground body; default "ground". */
    groundName?: string;
    boxes: StaticBox[];
  },
): StaticWorld {
  const world = new R.World({ x: 0, y: 0, z: -(opts.gravity ?? 9.81) });
  world.timestep = opts.timestep;
  const bodies: BodyDescription[] = [];
  const [gx, gy] = opts.groundSize;
  const [cx, cy] = opts.groundCenter ?? [gx / 2, gy / 2];
  // Ground: a slab whose top face is z = 0, `groundMargin` larger than the area on every side.
  const margin = opts.groundMargin ?? 50;
  const groundHalf = { x: gx / 2 + margin, y: gy / 2 + margin, z: opts.groundHalfThickness ?? 0.5 };
  const ground = world.createRigidBody(R.RigidBodyDesc.fixed().setTranslation(cx, cy, -groundHalf.z));
  world.createCollider(R.ColliderDesc.cuboid(groundHalf.x, groundHalf.y, groundHalf.z).setFriction(opts.groundFriction ?? 0.8), ground);
  bodies.push({
    id: 0,
    name: opts.groundName ?? 'ground',
    shape: 'box',
    size: [groundHalf.x * 2, groundHalf.y * 2, groundHalf.z * 2],
    color: opts.groundColor ?? '#3b4a3f',
    pose: [cx, cy, -groundHalf.z, ...IDENTITY],
    dynamic: false,
    role: 'ground',
  });
  for (const box of opts.boxes) {
    const b = world.createRigidBody(R.RigidBodyDesc.fixed().setTranslation(...box.center));
    world.createCollider(R.ColliderDesc.cuboid(box.size[0] / 2, box.size[1] / 2, box.size[2] / 2), b);
    bodies.push({
      id: bodies.length,
      name: box.name ?? `box-${bodies.length}`,
      shape: 'box',
      size: [...box.size],
      color: box.color,
      pose: [...box.center, ...IDENTITY],
      dynamic: false,
      role: 'building',
    });
  }
  return { world, bodies };
}
