import type { ManipGeometry } from '../../sim/manipulation/model.js';
import { pushHeuristicMap } from './bayes.js';
import { HP } from './hyperparameters.js';

/**
 * Where the critic agent may act: the candidate pixels of each primitive and the argmax of a Q
 * map over them. Pure functions of the observation and the workspace geometry (no randomness),
 * so the agent's choices (and its rng draws) stay in agent.ts.
 */

/** The target's pixels (mask > 0.5) and their centroid (row, column). */
export function targetPixels(mask: ArrayLike<number>, P: number): { pixels: number[]; centroid: [number, number] } {
  const pixels: number[] = [];
  let cr = 0;
  let cc = 0;
  for (let p = 0; p < P * P; p++) {
    if (mask[p] > 0.5) {
      pixels.push(p);
      cr += Math.floor(p / P);
      cc += p % P;
    }
  }
  return { pixels, centroid: [cr / pixels.length, cc / pixels.length] };
}

/** Every pixel of the map: the candidates when a rule is off. */
export function allPixels(P: number): number[] {
  return Array.from({ length: P * P }, (_, p) => p);
}

/** The paper's target-oriented push starts: push-heuristic pixels within HP.pushRegion of `centroid`. */
export function pushCandidatePixels(height: Float32Array, g: ManipGeometry, centroid: [number, number]): number[] {
  const heur = pushHeuristicMap(height, g.P, g.res);
  const reach = HP.pushRegion / g.res;
  const out: number[] = [];
  for (let p = 0; p < g.P * g.P; p++) if (heur[p] && Math.hypot(Math.floor(p / g.P) - centroid[0], (p % g.P) - centroid[1]) <= reach) out.push(p);
  return out;
}

/** Every push-heuristic pixel (the random pushes of exploration while the target is hidden). */
export function pushHeuristicPixels(height: Float32Array, g: ManipGeometry): number[] {
  const heur = pushHeuristicMap(height, g.P, g.res);
  const px: number[] = [];
  for (let p = 0; p < g.P * g.P; p++) if (heur[p]) px.push(p);
  return px;
}

/** A push from pixel p along rotation k ends at least HP.pushEdgeMargin inside the workspace. */
export function pushEndsInside(g: ManipGeometry, pushLength: number, k: number, p: number): boolean {
  const [x, y] = g.pixelToWorld(Math.floor(p / g.P), p % g.P);
  const ex = x + pushLength * Math.cos(g.rotationAngle(k));
  const ey = y + pushLength * Math.sin(g.rotationAngle(k));
  const m = HP.pushEdgeMargin;
  return ex >= g.x0 + m && ey >= g.y0 + m && ex <= g.x0 + g.size - m && ey <= g.y0 + g.size - m;
}

/** argmax over rotations and `pixels`; `allowed(k, p)` filters pairs (e.g. pushes that would leave the workspace). */
export function argmaxOver(q: Float32Array[], pixels: number[], allowed?: (k: number, p: number) => boolean): { k: number; p: number; v: number } {
  let best = { k: 0, p: pixels[0] ?? 0, v: -Infinity };
  for (let k = 0; k < q.length; k++) for (const p of pixels) if (q[k][p] > best.v && (!allowed || allowed(k, p))) best = { k, p, v: q[k][p] };
  return best;
}
