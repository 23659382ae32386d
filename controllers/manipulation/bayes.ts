/**
 * Bayesian push search while the target is hidden (Yang et al., "Grasping the Invisible"):
 *   prior(k, p)     = pushHeuristic(p) ⊙ Q_push(k, p)   (Q normalised to [0, 1] over the valid pixels)
 *   posterior(k, p) = prior(k, p) · Π_{last 3 pushes j} (1 − 0.25 · G(‖p − end_j‖; σ))
 * with G an unnormalised Gaussian, σ = 25 px at the paper's 2 mm/px (5 cm), here in metres;
 * the argmax is the push. The discount keeps the search from pushing the same place again.
 *
 * pushHeuristic: free table (height < 1 cm) within 3 cm of something taller: a push there
 * starts beside an object and moves it (VPG's valid-push idea).
 */
export interface PushChoice {
  rotation: number;
  pixel: number;
  score: number;
}

export function pushHeuristicMap(height: ArrayLike<number>, P: number, res: number): Float32Array {
  const out = new Float32Array(P * P);
  const k = Math.max(1, Math.round(0.03 / res));
  for (let r = 0; r < P; r++) {
    for (let c = 0; c < P; c++) {
      if (height[r * P + c] > 0.01) continue;
      let near = false;
      for (let dr = -k; dr <= k && !near; dr++) {
        for (let dc = -k; dc <= k; dc++) {
          const rr = r + dr;
          const cc = c + dc;
          if (rr < 0 || cc < 0 || rr >= P || cc >= P) continue;
          if (height[rr * P + cc] > 0.01) {
            near = true;
            break;
          }
        }
      }
      if (near) out[r * P + c] = 1;
    }
  }
  return out;
}

export function bayesianPush(
  height: ArrayLike<number>,
  qPush: Float32Array[],
  recentPushEnds: [number, number][],
  geo: { P: number; res: number; pixelToWorld(r: number, c: number): [number, number]; rotationAngle(k: number): number },
  pushLength: number,
  sigma = 0.05,
  edgeMargin = 0,
): PushChoice {
  const { P, res } = geo;
  const heur = pushHeuristicMap(height, P, res);
  let lo = Infinity;
  let hi = -Infinity;
  for (const q of qPush) for (let p = 0; p < P * P; p++) if (heur[p]) (lo = Math.min(lo, q[p])), (hi = Math.max(hi, q[p]));
  const span = hi > lo ? hi - lo : 1;
  const last = recentPushEnds.slice(-3);
  const discount = new Float32Array(P * P).fill(1);
  for (let p = 0; p < P * P; p++) {
    const [x, y] = geo.pixelToWorld(Math.floor(p / P), p % P);
    for (const [ex, ey] of last) discount[p] *= 1 - 0.25 * Math.exp(-((x - ex) ** 2 + (y - ey) ** 2) / (2 * sigma * sigma));
  }
  let best: PushChoice = { rotation: 0, pixel: (P * P) >> 1, score: -Infinity };
  for (let k = 0; k < qPush.length; k++) {
    const q = qPush[k];
    const th = geo.rotationAngle(k);
    for (let p = 0; p < P * P; p++) {
      if (!heur[p]) continue;
      // The push must end inside the workspace, or it shoves clutter (or the target) off the table.
      const [x, y] = geo.pixelToWorld(Math.floor(p / P), p % P);
      const ex = x + pushLength * Math.cos(th);
      const ey = y + pushLength * Math.sin(th);
      const [x0, y0] = geo.pixelToWorld(0, 0);
      const [x1, y1] = geo.pixelToWorld(P - 1, P - 1);
      if (ex < x0 + edgeMargin || ey < y0 + edgeMargin || ex > x1 - edgeMargin || ey > y1 - edgeMargin) continue;
      const s = (0.05 + (q[p] - lo) / span) * discount[p];
      if (s > best.score) best = { rotation: k, pixel: p, score: s };
    }
  }
  return best;
}
