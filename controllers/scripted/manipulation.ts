import type { Controller, ControllerContext } from '../../src/core/controller.js';
import type { Action, EnvSpec } from '../../src/core/env.js';
import { ContractError } from '../../src/core/errors.js';
import type { ManipulationModel, PrimitiveName } from '../../sim/manipulation/model.js';

/**
 * Scripted baselines for the manipulation task (sim/manipulation). They read only the
 * observation (heightmap, colour classes, target mask) and the task's geometry, so they
 * drive a real arm whose camera gives the same maps.
 *
 * `heuristic`: once the target is seen, grasp it across its narrow side where both fingers
 * land on free table; when no such grasp exists, push the target 10 cm toward the emptiest
 * direction (push toward free space). While the target is hidden, take the top object off
 * the highest pile (grasp), and every third motion push through the pile toward free space.
 */
export interface ManipObs {
  height: Float32Array;
  classes: Float32Array;
  mask: Float32Array;
  targetPixels: number;
}

export function splitObs(obs: Float32Array, P: number): ManipObs {
  const n = P * P;
  const mask = obs.subarray(2 * n, 3 * n);
  let targetPixels = 0;
  for (let i = 0; i < n; i++) targetPixels += mask[i] > 0.5 ? 1 : 0;
  return { height: obs.subarray(0, n), classes: obs.subarray(n, 2 * n), mask, targetPixels };
}

export interface Motion {
  primitive: PrimitiveName;
  x: number;
  y: number;
  theta: number;
}

/** Encode a motion as the env's action (Discrete index, or the continuous Box(4)). */
export function motionToAction(model: ManipulationModel, m: Motion): Action {
  const g = model.geometry;
  if (model.scene.action === 'discrete') {
    const [row, col] = g.worldToPixel(m.x, m.y);
    const twoPi = 2 * Math.PI;
    const k = Math.round((((m.theta % twoPi) + twoPi) % twoPi) / (twoPi / g.R)) % g.R;
    return g.encode(m.primitive, k, row, col);
  }
  let th = m.theta % (2 * Math.PI);
  if (th > Math.PI) th -= 2 * Math.PI;
  if (th < -Math.PI) th += 2 * Math.PI;
  return new Float32Array([
    m.primitive === 'grasp' ? 1 : -1,
    (2 * (m.x - g.x0)) / g.size - 1,
    (2 * (m.y - g.y0)) / g.size - 1,
    th / Math.PI,
  ]);
}

export function requireModel(context: ControllerContext, spec: EnvSpec): ManipulationModel {
  const model = context.model as ManipulationModel | undefined;
  if (!model || !('geometry' in (model as object)) || !spec.id.startsWith('manipulation')) {
    throw new ContractError(`this controller needs the manipulation task's model (got task ${spec.id})`);
  }
  return model;
}

/** Max height over a disc of radius `r` m around (x, y). */
function maxAround(model: ManipulationModel, height: Float32Array, x: number, y: number, r: number): number {
  const g = model.geometry;
  const k = Math.max(0, Math.round(r / g.res));
  const [r0, c0] = g.worldToPixel(x, y);
  let m = 0;
  for (let dr = -k; dr <= k; dr++) {
    for (let dc = -k; dc <= k; dc++) {
      const rr = r0 + dr;
      const cc = c0 + dc;
      if (rr < 0 || cc < 0 || rr >= g.P || cc >= g.P) continue;
      m = Math.max(m, height[rr * g.P + cc]);
    }
  }
  return m;
}

/** Mean height along a 12 cm ray from (x, y) in direction a: low means free space. */
function clutterAlong(model: ManipulationModel, height: Float32Array, x: number, y: number, a: number, skip: number): number {
  const g = model.geometry;
  let sum = 0;
  let n = 0;
  for (let t = skip; t <= skip + 0.12; t += g.res) {
    const px = x + t * Math.cos(a);
    const py = y + t * Math.sin(a);
    // Leaving the workspace is as bad as clutter: the target must stay reachable.
    if (!g.inWorkspace(px, py) || Math.hypot(px - (g.x0 + g.size / 2), py - (g.y0 + g.size / 2)) > 0.5 * g.size - 0.06) sum += 0.1;
    else {
      const [r, c] = g.worldToPixel(px, py);
      sum += height[r * g.P + c];
    }
    n++;
  }
  return sum / n;
}

/** The best grasp across the region whose pixels are `inRegion`, or null when no rotation lets both fingers land clear. */
export function planGrasp(
  model: ManipulationModel,
  o: ManipObs,
  inRegion: (i: number) => boolean,
): { motion: Motion; clearance: number } | null {
  const g = model.geometry;
  const gr = model.scene.gripper;
  let sr = 0;
  let sc = 0;
  let n = 0;
  let top = 0;
  for (let i = 0; i < g.P * g.P; i++) {
    if (!inRegion(i)) continue;
    sr += Math.floor(i / g.P);
    sc += i % g.P;
    n++;
    top = Math.max(top, o.height[i]);
  }
  if (n === 0) return null;
  const [x, y] = g.pixelToWorld(sr / n, sc / n);
  const pad = Math.max(top - gr.graspDepth, gr.graspFloor);
  const tipBottom = pad - 0.015;
  let best: { motion: Motion; clearance: number; width: number } | null = null;
  for (let k = 0; k < g.R / 2; k++) {
    const th = g.rotationAngle(k);
    const c = Math.cos(th);
    const s = Math.sin(th);
    // Width of the region along the closing axis.
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < g.P * g.P; i++) {
      if (!inRegion(i)) continue;
      const [px, py] = g.pixelToWorld(Math.floor(i / g.P), i % g.P);
      const u = (px - x) * c + (py - y) * s;
      lo = Math.min(lo, u);
      hi = Math.max(hi, u);
    }
    const width = hi - lo + g.res;
    if (width > gr.openWidth - 0.02) continue;
    // Both finger landing spots: how far above the finger tips the surface there stands.
    const off = gr.openWidth / 2 + gr.fingerThickness / 2;
    const h1 = maxAround(model, o.height, x + off * c, y + off * s, 0.01);
    const h2 = maxAround(model, o.height, x - off * c, y - off * s, 0.01);
    const clearance = tipBottom - Math.max(h1, h2);
    const score = clearance - 0.2 * width;
    if (!best || score > best.clearance - 0.2 * best.width) best = { motion: { primitive: 'grasp', x, y, theta: th }, clearance, width };
  }
  return best ? { motion: best.motion, clearance: best.clearance } : null;
}

/** Push the region's centre toward the freest direction, starting just behind it. */
export function planPushOut(model: ManipulationModel, o: ManipObs, x: number, y: number, radius: number): Motion {
  const g = model.geometry;
  let bestA = 0;
  let bestV = Infinity;
  for (let k = 0; k < g.R; k++) {
    const a = g.rotationAngle(k);
    const v = clutterAlong(model, o.height, x, y, a, radius);
    if (v < bestV) {
      bestV = v;
      bestA = a;
    }
  }
  const back = radius + 0.02;
  return { primitive: 'push', x: x - back * Math.cos(bestA), y: y - back * Math.sin(bestA), theta: bestA };
}

export function createHeuristic(spec: EnvSpec, context: ControllerContext): Controller {
  const model = requireModel(context, spec);
  const g = model.geometry;
  let step = 0;
  let failedTargetGrasps = 0;
  let lastWasTargetGrasp = false;
  return {
    kind: 'heuristic',
    reset() {
      step = 0;
      failedTargetGrasps = 0;
      lastWasTargetGrasp = false;
    },
    act(obs: Float32Array): Action {
      const o = splitObs(obs, g.P);
      step++;
      // A target grasp that left the target in view failed: after two, push it out instead.
      if (lastWasTargetGrasp && o.targetPixels > 0) failedTargetGrasps++;
      lastWasTargetGrasp = false;
      if (o.targetPixels > 0) {
        const plan = planGrasp(model, o, (i) => o.mask[i] > 0.5);
        const [cx, cy] = centroid(g, (i) => o.mask[i] > 0.5);
        const radius = Math.sqrt(o.targetPixels / Math.PI) * g.res;
        if (plan && (plan.clearance > -0.005 || failedTargetGrasps === 0) && failedTargetGrasps < 2) {
          lastWasTargetGrasp = true;
          return motionToAction(model, plan.motion);
        }
        failedTargetGrasps = 0;
        return motionToAction(model, planPushOut(model, o, cx, cy, radius));
      }
      // Hidden: the target is under the clutter. Take the top object off the highest pile,
      // and every third motion push through the pile toward free space.
      let top = 0;
      let topI = 0;
      for (let i = 0; i < g.P * g.P; i++) {
        if (o.height[i] > top) {
          top = o.height[i];
          topI = i;
        }
      }
      if (top < 0.005) return motionToAction(model, { primitive: 'push', x: g.x0 + g.size / 2, y: g.y0 + g.size / 2, theta: 0 });
      const cls = o.classes[topI];
      const [tr, tc] = [Math.floor(topI / g.P), topI % g.P];
      if (step % 3 === 0) {
        const [cx, cy] = centroid(g, (i) => o.height[i] > 0.01);
        return motionToAction(model, planPushOut(model, o, cx, cy, 0.03));
      }
      // The top object: pixels of the same colour class near the top pixel and near its height.
      const near = (i: number) =>
        o.classes[i] === cls && Math.abs(Math.floor(i / g.P) - tr) <= 8 && Math.abs((i % g.P) - tc) <= 8 && o.height[i] > top - 0.02;
      const plan = planGrasp(model, o, near);
      if (plan) return motionToAction(model, plan.motion);
      const [x, y] = g.pixelToWorld(tr, tc);
      return motionToAction(model, { primitive: 'grasp', x, y, theta: 0 });
    },
  };
}

function centroid(g: ManipulationModel['geometry'], inRegion: (i: number) => boolean): [number, number] {
  let sr = 0;
  let sc = 0;
  let n = 0;
  for (let i = 0; i < g.P * g.P; i++) {
    if (!inRegion(i)) continue;
    sr += Math.floor(i / g.P);
    sc += i % g.P;
    n++;
  }
  return n ? g.pixelToWorld(sr / n, sc / n) : [g.x0 + g.size / 2, g.y0 + g.size / 2];
}
