import type { Rapier, Ray, World } from '../rapier.js';

/**
 * A top-down depth camera as a grid of vertical ray casts: for each pixel, the height of the
 * first surface below z = 1 m and the class of the collider it belongs to. The gripper and any
 * other kinematic body are invisible to it, so the image shows the scene, not the arm.
 */

/** Pixel (row, col) is the point x0 + (col + ½)·res, y0 + (row + ½)·res; rows run along +y. */
export interface HeightmapGrid {
  readonly x0: number;
  readonly y0: number;
  readonly res: number;
  /** Pixels per side. */
  readonly P: number;
  /** Nearest pixel [row, col], clamped into the map. */
  worldToPixel(x: number, y: number): [number, number];
}

/** One capture, row-major P × P: heights (m above z = 0), colour classes, and the mask of `targetClass`. */
export interface HeightmapImage {
  heightmap: Float32Array;
  colorMap: Uint8Array;
  targetMask: Uint8Array;
}

/** Rays start this high (m) and reach this far down: everything between z = 1 and z = −1 is seen. */
const CAST_FROM = 1;
const CAST_LENGTH = 2;

export class HeightmapCamera {
  private readonly ray: Ray;

  constructor(
    private readonly R: Rapier,
    readonly grid: HeightmapGrid,
  ) {
    this.ray = new R.Ray({ x: 0, y: 0, z: CAST_FROM }, { x: 0, y: 0, z: -1 });
  }

  /**
   * Cast every pixel's ray into `world` and write the image into `out`. A collider missing from
   * `classOf` is class 0 (the table, or anything unlabelled). Returns how many pixels show `targetClass`.
   */
  capture(world: World, classOf: ReadonlyMap<number, number>, targetClass: number, out: HeightmapImage): number {
    const { R, grid: g, ray } = this;
    const exclude = R.QueryFilterFlags.EXCLUDE_KINEMATIC;
    let targetPixels = 0;
    for (let r = 0; r < g.P; r++) {
      for (let c = 0; c < g.P; c++) {
        const i = r * g.P + c;
        ray.origin = { x: g.x0 + (c + 0.5) * g.res, y: g.y0 + (r + 0.5) * g.res, z: CAST_FROM };
        const hit = world.castRay(ray, CAST_LENGTH, true, exclude);
        if (!hit) {
          out.heightmap[i] = 0;
          out.colorMap[i] = 0;
          out.targetMask[i] = 0;
          continue;
        }
        out.heightmap[i] = Math.max(0, CAST_FROM - hit.timeOfImpact);
        const cls = classOf.get(hit.collider.handle) ?? 0;
        out.colorMap[i] = cls;
        const isTarget = cls === targetClass ? 1 : 0;
        out.targetMask[i] = isTarget;
        targetPixels += isTarget;
      }
    }
    return targetPixels;
  }
}

/** The highest point of a heightmap (0 for an empty table). */
export function maxHeight(heightmap: Float32Array): number {
  let m = 0;
  for (const v of heightmap) if (v > m) m = v;
  return m;
}

/** The highest point within ±w metres of (x, y). */
export function localMax(grid: HeightmapGrid, heightmap: Float32Array, x: number, y: number, w: number): number {
  const k = Math.round(w / grid.res);
  const [r0, c0] = grid.worldToPixel(x, y);
  let m = 0;
  for (let r = Math.max(0, r0 - k); r <= Math.min(grid.P - 1, r0 + k); r++) {
    for (let c = Math.max(0, c0 - k); c <= Math.min(grid.P - 1, c0 + k); c++) m = Math.max(m, heightmap[r * grid.P + c]);
  }
  return m;
}
