import { NotFoundError } from '../../src/core/errors.js';

/**
 * A 2-D occupancy grid and A* over it. Pure (no Rapier), so both the task (the shortest
 * path ℓ that SPL needs) and the navigator agent (controllers/planning) use the same search.
 * Cells are square, `res` metres; cell (i, j) covers x ∈ [x0 + i·res, x0 + (i+1)·res).
 */
export interface Rect {
  /** Centre [x, y] and full size [sx, sy], axis-aligned. */
  center: [number, number];
  size: [number, number];
}

/** Thrown when a goal cannot be reached; the message names both ends. */
export class NoPathError extends NotFoundError {}

export class OccupancyGrid {
  readonly w: number;
  readonly h: number;
  /** 1 = occupied, 0 = free. */
  readonly cells: Uint8Array;

  constructor(
    readonly x0: number,
    readonly y0: number,
    width: number,
    height: number,
    readonly res: number,
    cells?: Uint8Array,
  ) {
    this.w = Math.ceil(width / res - 1e-9);
    this.h = Math.ceil(height / res - 1e-9);
    this.cells = cells ?? new Uint8Array(this.w * this.h);
  }

  /** A grid of `size` metres with the rectangles marked occupied (grown by `inflate` metres). */
  static fromRects(size: [number, number], res: number, rects: Rect[], inflate = 0): OccupancyGrid {
    const g = new OccupancyGrid(0, 0, size[0], size[1], res);
    for (const r of rects) g.markRect(r.center, [r.size[0] + 2 * inflate, r.size[1] + 2 * inflate]);
    if (inflate > 0) g.rounded(rects, inflate);
    // The border is a wall: a path never leaves the area.
    for (let i = 0; i < g.w; i++) {
      g.cells[i] = 1;
      g.cells[(g.h - 1) * g.w + i] = 1;
    }
    for (let j = 0; j < g.h; j++) {
      g.cells[j * g.w] = 1;
      g.cells[j * g.w + g.w - 1] = 1;
    }
    return g;
  }

  /** Free the square corners of the inflated rectangles that lie further than `r` from the box (a disc sweeps round corners). */
  private rounded(rects: Rect[], r: number): void {
    // Recompute exactly: a cell is occupied when its centre lies within r of any rectangle.
    this.cells.fill(0);
    for (const rect of rects) {
      const hx = rect.size[0] / 2;
      const hy = rect.size[1] / 2;
      const [i0, j0] = this.cellOf(rect.center[0] - hx - r, rect.center[1] - hy - r);
      const [i1, j1] = this.cellOf(rect.center[0] + hx + r, rect.center[1] + hy + r);
      for (let j = Math.max(0, j0); j <= Math.min(this.h - 1, j1); j++) {
        for (let i = Math.max(0, i0); i <= Math.min(this.w - 1, i1); i++) {
          const [cx, cy] = this.centerOf(i, j);
          const dx = Math.max(0, Math.abs(cx - rect.center[0]) - hx);
          const dy = Math.max(0, Math.abs(cy - rect.center[1]) - hy);
          if (dx * dx + dy * dy < r * r) this.cells[j * this.w + i] = 1;
        }
      }
    }
  }

  markRect(center: [number, number], size: [number, number]): void {
    const [i0, j0] = this.cellOf(center[0] - size[0] / 2, center[1] - size[1] / 2);
    const [i1, j1] = this.cellOf(center[0] + size[0] / 2 - 1e-9, center[1] + size[1] / 2 - 1e-9);
    for (let j = Math.max(0, j0); j <= Math.min(this.h - 1, j1); j++) {
      for (let i = Math.max(0, i0); i <= Math.min(this.w - 1, i1); i++) this.cells[j * this.w + i] = 1;
    }
  }

  /** Mark a disc of radius r around (x, y) occupied (an obstacle the lidar saw, grown by the robot radius). */
  markDisc(x: number, y: number, r: number): void {
    const [i0, j0] = this.cellOf(x - r, y - r);
    const [i1, j1] = this.cellOf(x + r, y + r);
    for (let j = Math.max(0, j0); j <= Math.min(this.h - 1, j1); j++) {
      for (let i = Math.max(0, i0); i <= Math.min(this.w - 1, i1); i++) {
        const [cx, cy] = this.centerOf(i, j);
        if ((cx - x) ** 2 + (cy - y) ** 2 <= r * r) this.cells[j * this.w + i] = 1;
      }
    }
  }

  clone(): OccupancyGrid {
    return new OccupancyGrid(this.x0, this.y0, this.w * this.res, this.h * this.res, this.res, this.cells.slice());
  }

  cellOf(x: number, y: number): [number, number] {
    return [Math.floor((x - this.x0) / this.res), Math.floor((y - this.y0) / this.res)];
  }

  centerOf(i: number, j: number): [number, number] {
    return [this.x0 + (i + 0.5) * this.res, this.y0 + (j + 0.5) * this.res];
  }

  inside(i: number, j: number): boolean {
    return i >= 0 && j >= 0 && i < this.w && j < this.h;
  }

  occupied(i: number, j: number): boolean {
    return !this.inside(i, j) || this.cells[j * this.w + i] === 1;
  }

  occupiedAt(x: number, y: number): boolean {
    const [i, j] = this.cellOf(x, y);
    return this.occupied(i, j);
  }

  /** The free cell nearest to (x, y) within `maxRadius` metres (breadth-first), or null. */
  nearestFree(x: number, y: number, maxRadius: number): [number, number] | null {
    const [ci, cj] = this.cellOf(x, y);
    if (!this.occupied(ci, cj)) return [ci, cj];
    const rMax = Math.ceil(maxRadius / this.res);
    let best: [number, number] | null = null;
    let bestD = Infinity;
    for (let r = 1; r <= rMax && !best; r++) {
      for (let dj = -r; dj <= r; dj++) {
        for (let di = -r; di <= r; di++) {
          if (Math.max(Math.abs(di), Math.abs(dj)) !== r) continue;
          const i = ci + di;
          const j = cj + dj;
          if (this.occupied(i, j)) continue;
          const d = di * di + dj * dj;
          if (d < bestD) {
            bestD = d;
            best = [i, j];
          }
        }
      }
    }
    return best;
  }

  /** True when the straight segment a → b crosses only free cells (sampled at res/4). */
  lineOfSight(a: [number, number], b: [number, number]): boolean {
    const d = Math.hypot(b[0] - a[0], b[1] - a[1]);
    const n = Math.max(1, Math.ceil(d / (this.res / 4)));
    for (let k = 0; k <= n; k++) {
      const t = k / n;
      if (this.occupiedAt(a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]))) return false;
    }
    return true;
  }
}

const SQRT2 = Math.SQRT2;
const DI = [1, -1, 0, 0, 1, 1, -1, -1];
const DJ = [0, 0, 1, -1, 1, -1, 1, -1];
const COST = [1, 1, 1, 1, SQRT2, SQRT2, SQRT2, SQRT2];

/** Octile distance: the exact 8-connected cost on an empty grid, so A* stays admissible and consistent. */
function octile(di: number, dj: number): number {
  const a = Math.abs(di);
  const b = Math.abs(dj);
  return Math.max(a, b) + (SQRT2 - 1) * Math.min(a, b);
}

/**
 * A* (Hart, Nilsson & Raphael 1968) on the 8-connected grid, no corner cutting. Returns the
 * cells from start to goal, or null when the goal is unreachable. The search is bounded by
 * the number of cells (each is closed at most once), so it always ends.
 */
export function astar(grid: OccupancyGrid, start: [number, number], goal: [number, number]): { cells: [number, number][]; cost: number } | null {
  const { w, h } = grid;
  if (grid.occupied(start[0], start[1]) || grid.occupied(goal[0], goal[1])) return null;
  const n = w * h;
  const g = new Float64Array(n).fill(Infinity);
  const parent = new Int32Array(n).fill(-1);
  const closed = new Uint8Array(n);
  const heap = new MinHeap(n);
  const s = start[1] * w + start[0];
  const t = goal[1] * w + goal[0];
  g[s] = 0;
  heap.push(s, octile(goal[0] - start[0], goal[1] - start[1]));
  while (heap.size > 0) {
    const u = heap.pop();
    if (closed[u]) continue;
    closed[u] = 1;
    if (u === t) break;
    const ui = u % w;
    const uj = (u - ui) / w;
    for (let k = 0; k < 8; k++) {
      const vi = ui + DI[k];
      const vj = uj + DJ[k];
      if (vi < 0 || vj < 0 || vi >= w || vj >= h) continue;
      const v = vj * w + vi;
      if (closed[v] || grid.cells[v]) continue;
      // Diagonal moves may not cut an occupied corner.
      if (k >= 4 && (grid.cells[uj * w + vi] || grid.cells[vj * w + ui])) continue;
      const cand = g[u] + COST[k];
      if (cand < g[v]) {
        g[v] = cand;
        parent[v] = u;
        heap.push(v, cand + octile(goal[0] - vi, goal[1] - vj));
      }
    }
  }
  if (!closed[t]) return null;
  const cells: [number, number][] = [];
  for (let c = t; c !== -1; c = parent[c]) cells.push([c % w, Math.floor(c / w)]);
  cells.reverse();
  return { cells, cost: g[t] };
}

/** Binary min-heap of (id, key); duplicates allowed (lazy deletion by the caller's closed set). */
class MinHeap {
  private ids: Int32Array;
  private keys: Float64Array;
  size = 0;
  constructor(capacity: number) {
    this.ids = new Int32Array(Math.max(16, capacity));
    this.keys = new Float64Array(Math.max(16, capacity));
  }
  push(id: number, key: number): void {
    if (this.size === this.ids.length) {
      const ids = new Int32Array(this.size * 2);
      ids.set(this.ids);
      this.ids = ids;
      const keys = new Float64Array(this.size * 2);
      keys.set(this.keys);
      this.keys = keys;
    }
    let i = this.size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.keys[p] <= key) break;
      this.ids[i] = this.ids[p];
      this.keys[i] = this.keys[p];
      i = p;
    }
    this.ids[i] = id;
    this.keys[i] = key;
  }
  pop(): number {
    const top = this.ids[0];
    const lastId = this.ids[--this.size];
    const lastKey = this.keys[this.size];
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= this.size) break;
      const r = l + 1;
      const c = r < this.size && this.keys[r] < this.keys[l] ? r : l;
      if (this.keys[c] >= lastKey) break;
      this.ids[i] = this.ids[c];
      this.keys[i] = this.keys[c];
      i = c;
    }
    this.ids[i] = lastId;
    this.keys[i] = lastKey;
    return top;
  }
}

/** Shorten a cell path by string pulling: keep a vertex only when the next one is out of sight. */
export function smoothPath(grid: OccupancyGrid, pts: [number, number][]): [number, number][] {
  if (pts.length <= 2) return pts.map((p) => [p[0], p[1]]);
  const out: [number, number][] = [pts[0]];
  let anchor = 0;
  while (anchor < pts.length - 1) {
    let next = anchor + 1;
    for (let k = pts.length - 1; k > anchor + 1; k--) {
      if (grid.lineOfSight(pts[anchor], pts[k])) {
        next = k;
        break;
      }
    }
    out.push(pts[next]);
    anchor = next;
  }
  return out;
}

export function polylineLength(pts: number[][]): number {
  let len = 0;
  for (let k = 1; k < pts.length; k++) len += Math.hypot(pts[k][0] - pts[k - 1][0], pts[k][1] - pts[k - 1][1]);
  return len;
}

/**
 * A smoothed path in metres from `from` to `to`. Ends that fall in an inflated cell snap to
 * the nearest free cell within `snap` metres. Throws NoPathError (never hangs) when there is none.
 */
export function planPath(grid: OccupancyGrid, from: [number, number], to: [number, number], opts: { snap?: number; label?: string } = {}): [number, number][] {
  const snap = opts.snap ?? 0.5;
  const label = opts.label ?? `(${to[0].toFixed(2)}, ${to[1].toFixed(2)})`;
  const s = grid.nearestFree(from[0], from[1], snap);
  if (!s) throw new NoPathError(`no path to ${label}: the start (${from[0].toFixed(2)}, ${from[1].toFixed(2)}) is inside an obstacle`);
  const t = grid.nearestFree(to[0], to[1], snap);
  if (!t) throw new NoPathError(`no path to ${label}: the goal (${to[0].toFixed(2)}, ${to[1].toFixed(2)}) is inside an obstacle`);
  const res = astar(grid, s, t);
  if (!res) throw new NoPathError(`no path to ${label}: no free route from (${from[0].toFixed(2)}, ${from[1].toFixed(2)}) to (${to[0].toFixed(2)}, ${to[1].toFixed(2)})`);
  const pts = res.cells.map(([i, j]) => grid.centerOf(i, j));
  // The true ends replace the cell centres when free, else lead into the snapped cells.
  if (!grid.occupiedAt(from[0], from[1])) pts[0] = [from[0], from[1]];
  else pts.unshift([from[0], from[1]]);
  if (!grid.occupiedAt(to[0], to[1])) pts[pts.length - 1] = [to[0], to[1]];
  return smoothPath(grid, pts);
}
