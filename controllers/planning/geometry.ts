/**
 * Polyline geometry the planner, critic and pure pursuit share: the closest point on a
 * path (cross-track error, progress), the point a given arc length along it (lookahead).
 */
export type Vec2 = [number, number];

export function wrapAngle(a: number): number {
  return a - 2 * Math.PI * Math.floor((a + Math.PI) / (2 * Math.PI));
}

/** Arc length at each vertex. */
export function cumulativeLengths(path: Vec2[]): number[] {
  const s = [0];
  for (let k = 1; k < path.length; k++) s.push(s[k - 1] + Math.hypot(path[k][0] - path[k - 1][0], path[k][1] - path[k - 1][1]));
  return s;
}

export interface Projection {
  /** Arc length of the closest point. */
  s: number;
  /** Distance from the point to the path: the cross-track error, m. */
  crossTrack: number;
  /** Direction of the path at the closest point, rad. */
  tangent: number;
  point: Vec2;
  segment: number;
}

/**
 * Closest point of `path` to `p`, searched over segments whose arc length lies in
 * [sMin, sMax] (a window stops the projection jumping to a far part of a path that doubles back).
 */
export function project(path: Vec2[], cum: number[], p: Vec2, sMin = -Infinity, sMax = Infinity): Projection {
  let best: Projection = { s: 0, crossTrack: Math.hypot(p[0] - path[0][0], p[1] - path[0][1]), tangent: 0, point: [path[0][0], path[0][1]], segment: 0 };
  if (path.length === 1) return best;
  best.crossTrack = Infinity;
  for (let k = 0; k < path.length - 1; k++) {
    if (cum[k + 1] < sMin || cum[k] > sMax) continue;
    const [ax, ay] = path[k];
    const dx = path[k + 1][0] - ax;
    const dy = path[k + 1][1] - ay;
    const l2 = dx * dx + dy * dy;
    const u = l2 > 0 ? Math.max(0, Math.min(1, ((p[0] - ax) * dx + (p[1] - ay) * dy) / l2)) : 0;
    const qx = ax + u * dx;
    const qy = ay + u * dy;
    const d = Math.hypot(p[0] - qx, p[1] - qy);
    if (d < best.crossTrack) best = { s: cum[k] + u * Math.sqrt(l2), crossTrack: d, tangent: Math.atan2(dy, dx), point: [qx, qy], segment: k };
  }
  if (best.crossTrack === Infinity) return project(path, cum, p);
  return best;
}

/** The point at arc length s along the path (clamped to its ends). */
export function pointAt(path: Vec2[], cum: number[], s: number): Vec2 {
  if (s <= 0) return [path[0][0], path[0][1]];
  const total = cum[cum.length - 1];
  if (s >= total) return [path[path.length - 1][0], path[path.length - 1][1]];
  let k = 0;
  while (k < cum.length - 2 && cum[k + 1] < s) k++;
  const l = cum[k + 1] - cum[k];
  const u = l > 0 ? (s - cum[k]) / l : 0;
  return [path[k][0] + u * (path[k + 1][0] - path[k][0]), path[k][1] + u * (path[k + 1][1] - path[k][1])];
}
