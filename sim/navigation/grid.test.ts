import { describe, expect, it } from 'vitest';
import { astar, NoPathError, OccupancyGrid, planPath, polylineLength } from './grid.js';

/** Dijkstra over the same 8-connected moves (no corner cutting): the reference A* must match. */
function dijkstra(g: OccupancyGrid, s: [number, number], t: [number, number]): number {
  const dist = new Float64Array(g.w * g.h).fill(Infinity);
  const done = new Uint8Array(g.w * g.h);
  dist[s[1] * g.w + s[0]] = 0;
  for (;;) {
    let u = -1;
    for (let k = 0; k < dist.length; k++) if (!done[k] && dist[k] < Infinity && (u < 0 || dist[k] < dist[u])) u = k;
    if (u < 0) return Infinity;
    if (u === t[1] * g.w + t[0]) return dist[u];
    done[u] = 1;
    const ui = u % g.w;
    const uj = Math.floor(u / g.w);
    for (let dj = -1; dj <= 1; dj++) {
      for (let di = -1; di <= 1; di++) {
        if (!di && !dj) continue;
        const vi = ui + di;
        const vj = uj + dj;
        if (g.occupied(vi, vj)) continue;
        if (di && dj && (g.occupied(ui + di, uj) || g.occupied(ui, uj + dj))) continue;
        const c = dist[u] + (di && dj ? Math.SQRT2 : 1);
        if (c < dist[vj * g.w + vi]) dist[vj * g.w + vi] = c;
      }
    }
  }
}

describe('A* on an occupancy grid', () => {
  it('finds the known shortest path around a wall', () => {
    // 10 × 10 cells of 1 m; a wall at x = 5 from y = 0 to y = 7 (cells (5, 0..7)).
    const g = new OccupancyGrid(0, 0, 10, 10, 1);
    g.markRect([5.5, 4], [1, 8]);
    const res = astar(g, [2, 2], [8, 2])!;
    expect(res).not.toBeNull();
    // By hand: no corner cutting means crossing over the wall's end by (4,8)→(5,8)→(6,8).
    // (2,2)→(4,8) is 2 diagonals + 4 straight, the crossing 2, (6,8)→(8,2) again 2 + 4: 10 + 4√2.
    const reference = dijkstra(g, [2, 2], [8, 2]);
    expect(res.cost).toBeCloseTo(reference, 9);
    expect(res.cost).toBeCloseTo(10 + 4 * Math.SQRT2, 9);
    // Every step is to a free neighbour.
    for (let k = 1; k < res.cells.length; k++) {
      const [a, b] = [res.cells[k - 1], res.cells[k]];
      expect(Math.max(Math.abs(a[0] - b[0]), Math.abs(a[1] - b[1]))).toBe(1);
      expect(g.occupied(b[0], b[1])).toBe(false);
    }
  });

  it('matches Dijkstra on random grids', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    for (let trial = 0; trial < 20; trial++) {
      const g = new OccupancyGrid(0, 0, 15, 15, 1);
      for (let k = 0; k < g.cells.length; k++) g.cells[k] = rnd() < 0.25 ? 1 : 0;
      g.cells[0] = 0;
      g.cells[g.cells.length - 1] = 0;
      const res = astar(g, [0, 0], [14, 14]);
      const ref = dijkstra(g, [0, 0], [14, 14]);
      if (ref === Infinity) expect(res).toBeNull();
      else expect(res!.cost).toBeCloseTo(ref, 9);
    }
  });

  it('string pulling gives the straight line on an empty grid', () => {
    const g = new OccupancyGrid(0, 0, 10, 10, 0.1);
    const path = planPath(g, [1, 1], [8, 5]);
    expect(path).toHaveLength(2);
    expect(polylineLength(path)).toBeCloseTo(Math.hypot(7, 4), 9);
  });

  it('a goal with no path throws a clear error quickly, never hangs', () => {
    // A large grid, and the goal boxed in: A* must exhaust the free space and stop.
    const g = OccupancyGrid.fromRects([40, 40], 0.05, [
      { center: [30, 28], size: [4, 0.1] },
      { center: [30, 32], size: [4, 0.1] },
      { center: [28, 30], size: [0.1, 4] },
      { center: [32, 30], size: [0.1, 4] },
    ], 0.1);
    const t0 = performance.now();
    expect(() => planPath(g, [2, 2], [30, 30], { label: '"vault"' })).toThrow(NoPathError);
    expect(() => planPath(g, [2, 2], [30, 30], { label: '"vault"' })).toThrow(/no path to "vault": no free route/);
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(() => planPath(g, [2, 2], [30, 28], { label: '"wall"', snap: 0.05 })).toThrow(/inside an obstacle/);
  });
});
