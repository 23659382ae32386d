import type { Rapier, World } from './rapier.js';
import type { BodyDescription } from '../src/core/frames.js';

/**
 * The one place where scene JSON becomes Rapier descriptors (STYLE.md: descriptors, then
 * build). Tasks call these for the static world, then add their own dynamic bodies.
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
  opts: { gravity?: number; timestep: number; groundSize: [number, number]; groundCenter?: [number, number]; groundColor?: string; boxes: StaticBox[] },
): StaticWorld {
  const world = new R.World({ x: 0, y: 0, z: -(opts.gravity ?? 9.81) });
  world.timestep = opts.timestep;
  const bodies: BodyDescription[] = [];
  const [gx, gy] = opts.groundSize;
  const [cx, cy] = opts.groundCenter ?? [gx / 2, gy / 2];
  // Ground: a thick slab whose top face is z = 0, a little larger than the area.
  const groundHalf = { x: gx / 2 + 50, y: gy / 2 + 50, z: 0.5 };
  const ground = world.createRigidBody(R.RigidBodyDesc.fixed().setTranslation(cx, cy, -groundHalf.z));
  world.createCollider(R.ColliderDesc.cuboid(groundHalf.x, groundHalf.y, groundHalf.z).setFriction(0.8), ground);
  bodies.push({
    id: 0,
    name: 'ground',
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
