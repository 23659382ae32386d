import type { Rng } from '../../src/core/rng.js';
import type { ManipulationScene } from './scene.js';

/**
 * The scene's objects and their random poses. Each scene has a fixed set of objects drawn once
 * from `clutter.shapeSeed` (the target, 5 flat cover boxes, `clutter.count[1]` boxes, cylinders
 * and convex hulls); every episode drops a random subset of it in random poses, so that one
 * SceneDescription (sent once) is right for every episode. The paper's simulator also draws
 * from a fixed set of meshes.
 */

/** A body slot: fixed per scene, so that one SceneDescription holds for every episode. */
export interface SlotSpec {
  id: number;
  name: string;
  shape: 'box' | 'cylinder' | 'hull';
  /** box and hull: [sx, sy, sz] (the hull's bounding extents); cylinder: [radius, height]. */
  size: number[];
  /** hull: its points [x, y, z, ...] in the body frame, centred on the bounding box. */
  points?: Float32Array;
  color: string;
  colorClass: number;
  isTarget: boolean;
  /** Resting height when upright (for stacking the drop heights). */
  height: number;
  /** kg/m³; absent: the clutter's density. */
  density?: number;
}

/** The scene's object set: target, covers (used to hide the target), clutter, the walls wedged against the target (`target.wedge`). */
export interface ObjectSet {
  target: SlotSpec;
  covers: SlotSpec[];
  clutter: SlotSpec[];
  walls: SlotSpec[];
  /** The walls' thickness, m (one per scene, so that the pinwheel closes). */
  wallThickness: number;
}

/** An object placed by hand (tests, benches), for `ManipulationBackend.resetWith`. */
export interface PlacedObject {
  shape: 'box' | 'cylinder';
  size: number[];
  position: [number, number, number];
  yaw?: number;
  isTarget?: boolean;
}

export type Quaternion = { x: number; y: number; z: number; w: number };

/** Draw the scene's object set; `targetClass` is the target's colour class (the model's). */
export function drawObjectSet(scene: ManipulationScene, targetClass: number, rng: Rng): ObjectSet {
  const c = scene.clutter;
  const t = scene.target;
  let id = 1;
  const target: SlotSpec = {
    id: id++,
    name: 'target',
    shape: t.shape,
    size: t.shape === 'box' ? t.size.slice(0, 3) : t.size.slice(0, 2),
    color: t.color,
    colorClass: targetClass,
    isTarget: true,
    height: t.shape === 'box' ? t.size[2] : t.size[1],
  };
  const covers: SlotSpec[] = [];
  // Covers are flat boxes a little wider than the target, so that the target can hide under them.
  const tw = Math.max(t.size[0], t.size.length === 3 ? t.size[1] : 2 * t.size[0]) + 0.02;
  for (let k = 0; k < 5; k++) {
    const cls = 1 + rng.int(c.colors.length);
    const size = [tw + rng.uniform(0, 0.015), tw + rng.uniform(0, 0.015), rng.uniform(c.boxSize[0], c.boxSize[1]) * 0.6];
    covers.push({ id: id++, name: `cover-${k}`, shape: 'box', size, color: c.colors[cls - 1], colorClass: cls, isTarget: false, height: size[2] });
  }
  const clutter: SlotSpec[] = [];
  for (let k = 0; k < c.count[1]; k++) {
    const cls = 1 + rng.int(c.colors.length);
    const u = rng.next();
    if (u < c.cylinderFraction) {
      const size = [rng.uniform(...c.cylinderRadius), rng.uniform(...c.cylinderHeight)];
      clutter.push({ id: id++, name: `cylinder-${k}`, shape: 'cylinder', size, color: c.colors[cls - 1], colorClass: cls, isTarget: false, height: Math.max(size[1], 2 * size[0]) });
    } else if (u < c.cylinderFraction + c.hullFraction) {
      const { points, size } = randomHull(rng, [rng.uniform(...c.hullSize), rng.uniform(...c.hullSize), rng.uniform(...c.hullSize)], c.hullPoints);
      clutter.push({ id: id++, name: `hull-${k}`, shape: 'hull', size, points, color: c.colors[cls - 1], colorClass: cls, isTarget: false, height: Math.max(...size) });
    } else {
      const size = [rng.uniform(...c.boxSize), rng.uniform(...c.boxSize), rng.uniform(...c.boxSize)];
      clutter.push({ id: id++, name: `box-${k}`, shape: 'box', size, color: c.colors[cls - 1], colorClass: cls, isTarget: false, height: Math.max(...size) });
    }
  }
  // Drawn after everything else, so that a scene without walls keeps its object set.
  const w = t.wedge;
  const walls: SlotSpec[] = [];
  const th = w.count > 0 ? rng.uniform(...w.thickness) : 0;
  const [a, b] = targetHalfExtents(scene);
  for (let k = 0; k < w.count; k++) {
    const cls = 1 + rng.int(c.colors.length);
    // Pinwheel: the side walls (k = 0, 1) run past one end of the target by a wall thickness, the
    // end walls (k = 2, 3) past one side, so that four close it without overlapping (0.5 mm short).
    const along = (k < 2 ? 2 * a : 2 * b) + 2 * w.gap + th - 0.0005;
    const size = [along, th, rng.uniform(...w.height)];
    walls.push({ id: id++, name: `wall-${k}`, shape: 'box', size, color: c.colors[cls - 1], colorClass: cls, isTarget: false, height: size[2], density: c.density * w.densityFactor });
  }
  return { target, covers, clutter, walls, wallThickness: th };
}

/** Half extents of the target's footprint, m: [along its long body axis x, along y]. */
export function targetHalfExtents(scene: ManipulationScene): [number, number] {
  const t = scene.target;
  return t.shape === 'box' ? [t.size[0] / 2, t.size[1] / 2] : [t.size[0], t.size[0]];
}

/**
 * Where wall k of `walls` stands against a target at (x, y) with yaw ψ: centre and yaw. u is the
 * target's long axis, v its short one; walls 0 / 1 lie along +v / −v, walls 2 / 3 at the +u / −u ends.
 */
export function wallPose(scene: ManipulationScene, th: number, k: number, x: number, y: number, psi: number): { position: [number, number]; yaw: number } {
  const [a, b] = targetHalfExtents(scene);
  const gap = scene.target.wedge.gap;
  const [cu, su] = [Math.cos(psi), Math.sin(psi)];
  // (du, dv): the wall's centre in the target's (u, v) frame.
  // Two walls (a channel, open at both ends) stand centred on the long sides; with the end walls
  // they shift by half a thickness so that the four close pinwheel-wise.
  const shift = scene.target.wedge.count > 2 ? th / 2 : 0;
  const [du, dv] = [
    [shift, b + gap + th / 2],
    [-shift, -(b + gap + th / 2)],
    [a + gap + th / 2, -th / 2],
    [-(a + gap + th / 2), th / 2],
  ][k];
  return { position: [x + du * cu - dv * su, y + du * su + dv * cu], yaw: k < 2 ? psi : psi + Math.PI / 2 };
}

/** The slots of hand-placed objects: the target in the scene's target colour, the rest in the first clutter colour. */
export function placedSlots(scene: ManipulationScene, targetClass: number, placed: PlacedObject[]): SlotSpec[] {
  const c = scene.clutter;
  return placed.map((o, k) => ({
    id: 1 + k,
    name: o.isTarget ? 'target' : `${o.shape}-${k}`,
    shape: o.shape,
    size: o.size,
    color: o.isTarget ? scene.target.color : c.colors[0],
    colorClass: o.isTarget ? targetClass : 1,
    isTarget: !!o.isTarget,
    height: o.shape === 'box' ? o.size[2] : o.size[1],
  }));
}

/** A uniformly random yaw, standing upright or (`tipped`) lying on a side. */
export function randomRotation(rng: Rng, tipped: boolean): Quaternion {
  const yaw = rng.uniform(0, 2 * Math.PI);
  const qz = { x: 0, y: 0, z: Math.sin(yaw / 2), w: Math.cos(yaw / 2) };
  if (!tipped) return qz;
  // Lying on a side: roll 90° about x, then the yaw.
  const r = { x: Math.SQRT1_2, y: 0, z: 0, w: Math.SQRT1_2 };
  return {
    w: qz.w * r.w - qz.z * r.z,
    x: qz.w * r.x - qz.z * r.y,
    y: qz.w * r.y + qz.z * r.x,
    z: qz.z * r.w + qz.w * r.z,
  };
}

/**
 * An irregular convex object: `n` points drawn on a jittered ellipsoid of semi-axes extents / 2
 * (radius 0.6..1 of the surface, so facets are uneven), re-centred on their bounding box. Returns
 * the points and the bounding extents (for drop heights and the viewer).
 */
function randomHull(rng: Rng, extents: number[], n: number): { points: Float32Array; size: number[] } {
  const pts: number[][] = [];
  for (let i = 0; i < n; i++) {
    const zc = rng.uniform(-1, 1);
    const a = rng.uniform(0, 2 * Math.PI);
    const rxy = Math.sqrt(1 - zc * zc);
    const r = rng.uniform(0.6, 1);
    pts.push([(r * rxy * Math.cos(a) * extents[0]) / 2, (r * rxy * Math.sin(a) * extents[1]) / 2, (r * zc * extents[2]) / 2]);
  }
  const lo = [0, 1, 2].map((d) => Math.min(...pts.map((p) => p[d])));
  const hi = [0, 1, 2].map((d) => Math.max(...pts.map((p) => p[d])));
  const points = Float32Array.from(pts.flatMap((p) => p.map((v, d) => v - (lo[d] + hi[d]) / 2)));
  return { points, size: hi.map((h, d) => h - lo[d]) };
}
