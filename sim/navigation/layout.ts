import { ValidationError } from '../../src/core/errors.js';
import { OccupancyGrid, planPath, NoPathError, type Rect } from './grid.js';
import type { NavScene } from './scene.js';

/**
 * The scene's floor plan in 2-D: wall pieces (walls cut at their doors), furniture, and the
 * named places (the scene's own plus one per door). Pure; the backend turns the same boxes
 * into Rapier bodies, the map into an occupancy grid.
 */
export interface WallPiece extends Rect {
  name: string;
}

export interface Layout {
  walls: WallPiece[];
  /** All named places, doors included, by name. */
  places: Map<string, [number, number]>;
  /** Obstacles of the map: walls and all furniture (movable pieces at their scene positions). */
  obstacles: Rect[];
}

export function buildLayout(scene: NavScene, file = 'scene'): Layout {
  const t = scene.walls.thickness;
  const walls: WallPiece[] = [];
  const places = new Map<string, [number, number]>();
  let doorCount = 0;
  scene.walls.segments.forEach((seg, w) => {
    const [ax, ay] = seg.from;
    const [bx, by] = seg.to;
    const horizontal = Math.abs(ay - by) < 1e-9;
    const vertical = Math.abs(ax - bx) < 1e-9;
    if (!horizontal && !vertical) throw new ValidationError(`${file}: walls.segments[${w}]: walls must be axis-aligned (from and to share x or y)`);
    const len = Math.hypot(bx - ax, by - ay);
    const ux = (bx - ax) / len;
    const uy = (by - ay) / len;
    // Gaps [start, end] along the wall, sorted.
    const gaps = seg.doors
      .map((d, k) => {
        if (d.at - d.width / 2 < 0 || d.at + d.width / 2 > len) {
          throw new ValidationError(`${file}: walls.segments[${w}].doors[${k}]: the door (at ${d.at}, width ${d.width}) does not fit in the wall (length ${len.toFixed(2)})`);
        }
        doorCount++;
        const name = d.name ?? `door-${doorCount}`;
        if (places.has(name)) throw new ValidationError(`${file}: walls.segments[${w}].doors[${k}].name: duplicate place "${name}"`);
        places.set(name, [ax + ux * d.at, ay + uy * d.at]);
        return [d.at - d.width / 2, d.at + d.width / 2];
      })
      .sort((p, q) => p[0] - q[0]);
    let s = 0;
    const pieces: [number, number][] = [];
    for (const [g0, g1] of gaps) {
      if (g0 > s) pieces.push([s, g0]);
      s = Math.max(s, g1);
    }
    if (s < len) pieces.push([s, len]);
    pieces.forEach(([p0, p1], k) => {
      // Pieces overlap the corners by half a thickness so rooms close.
      const e0 = p0 === 0 ? -t / 2 : 0;
      const e1 = p1 === len ? t / 2 : 0;
      const m = (p0 + e0 + p1 + e1) / 2;
      const l = p1 + e1 - (p0 + e0);
      walls.push({
        name: `wall-${w}${pieces.length > 1 ? `-${k}` : ''}`,
        center: [ax + ux * m, ay + uy * m],
        size: horizontal ? [l, t] : [t, l],
      });
    });
  });
  scene.places.forEach((p, k) => {
    if (places.has(p.name)) throw new ValidationError(`${file}: places[${k}].name: duplicate place "${p.name}"`);
    places.set(p.name, [p.position[0], p.position[1]]);
  });
  const obstacles: Rect[] = [...walls, ...scene.furniture.map((f) => ({ center: f.center, size: [f.size[0], f.size[1]] as [number, number] }))];
  return { walls, places, obstacles };
}

/** The map the navigator plans on: obstacles grown by the robot radius plus a margin. */
export function inflatedGrid(scene: NavScene, layout: Layout, margin = 0.1): OccupancyGrid {
  return OccupancyGrid.fromRects(scene.area.size, scene.mapResolution, layout.obstacles, scene.robot.radius + margin);
}

/** Every named place must be on free floor and reachable from the first; errors name the place. */
export function checkPlaces(scene: NavScene, layout: Layout, grid: OccupancyGrid, file = 'scene'): void {
  const names = [...layout.places.keys()];
  if (names.length < 2) throw new ValidationError(`${file}: places: expected at least 2 named places (doors count), got ${names.length}`);
  const ref = layout.places.get(names[0])!;
  for (const name of names) {
    const p = layout.places.get(name)!;
    if (p[0] <= 0 || p[1] <= 0 || p[0] >= scene.area.size[0] || p[1] >= scene.area.size[1]) {
      throw new ValidationError(`${file}: place "${name}" (${p.join(', ')}) lies outside the area`);
    }
    if (name === names[0]) continue;
    try {
      planPath(grid, ref, p, { label: `"${name}"` });
    } catch (err) {
      if (err instanceof NoPathError) throw new ValidationError(`${file}: place "${name}" cannot be reached from "${names[0]}": ${err.message}`);
      throw err;
    }
  }
  for (const list of [scene.goals.from, scene.goals.start]) {
    for (const n of list ?? []) if (!layout.places.has(n)) throw new ValidationError(`${file}: goals: unknown place "${n}". Known: ${names.join(', ')}`);
  }
}
