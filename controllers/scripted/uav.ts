import type { Controller, ControllerContext } from '../../src/core/controller.js';
import type { EnvSpec } from '../../src/core/env.js';
import { ContractError } from '../../src/core/errors.js';
import type { UavModel } from '../../sim/uav/model.js';

/**
 * Scripted UAV baselines. They read only the observation (plus the scene geometry the
 * model carries), so they drive a real drone exactly as they drive the simulator.
 *
 * - hover:  hold position. The floor.
 * - greedy: fly to the nearest device that still holds data, PD approach, hover until drained.
 * - tour:   visit every device in a nearest-neighbour order improved by 2-opt, hovering over
 *           each until it is drained; devices drained en route are skipped.
 */
const DRAINED = 1e-3; // data fraction below which a device counts as empty (obs is float32)

interface Decoded {
  pos: [number, number, number];
  vel: [number, number, number];
  remaining: number[];
}

function modelOf(context: ControllerContext): UavModel {
  const m = context.model as UavModel | undefined;
  if (!m || m.id !== 'uav-data-collection') throw new ContractError('UAV scripted controllers need the UAV task model in their context');
  return m;
}

/** Undo UavModel.observe for the fields the baselines need. */
function decode(model: UavModel, obs: Float32Array): Decoded {
  const [Lx, Ly] = model.scene.area.size;
  const H = model.scene.area.maxAltitude;
  const vmax = model.scene.uav.maxSpeed;
  const remaining: number[] = [];
  for (let k = 0; k < model.K; k++) remaining.push(obs[8 + 4 * k + 3]);
  return {
    pos: [((obs[0] + 1) * Lx) / 2, ((obs[1] + 1) * Ly) / 2, ((obs[2] + 1) * H) / 2],
    vel: [obs[3] * vmax, obs[4] * vmax, obs[5] * vmax],
    remaining,
  };
}

/**
 * PD position approach, v = Kp·e − Kd·v, with the horizontal speed capped by the cruise
 * speed and by a braking profile √(2·a·d), so the UAV stops over the target without overshoot.
 */
function approach(model: UavModel, d: Decoded, target: [number, number, number], out: Float32Array): Float32Array {
  const u = model.scene.uav;
  const kp = 0.8;
  const kd = 0.15;
  const ex = target[0] - d.pos[0];
  const ey = target[1] - d.pos[1];
  const ez = target[2] - d.pos[2];
  let vx = kp * ex - kd * d.vel[0];
  let vy = kp * ey - kd * d.vel[1];
  const dist = Math.hypot(ex, ey);
  const cap = Math.min(u.maxSpeed, Math.sqrt(2 * 0.6 * u.maxAccel * dist) + 0.2);
  const h = Math.hypot(vx, vy);
  if (h > cap) {
    vx *= cap / h;
    vy *= cap / h;
  }
  const vz = Math.max(-u.maxVerticalSpeed, Math.min(u.maxVerticalSpeed, 1.0 * ez - kd * d.vel[2]));
  return model.toAction({ vx, vy, vz }, out);
}

export function createHover(): Controller {
  const zero = new Float32Array(3);
  return { kind: 'hover', reset() {}, act: () => zero.slice() };
}

export function createGreedy(_spec: EnvSpec, context: ControllerContext): Controller {
  const model = modelOf(context);
  const alt = model.scene.uav.cruiseAltitude;
  const out = new Float32Array(3);
  return {
    kind: 'greedy',
    reset() {},
    act(obs) {
      const d = decode(model, obs);
      let best = -1;
      let bestD = Infinity;
      for (let k = 0; k < model.K; k++) {
        if (d.remaining[k] <= DRAINED) continue;
        const p = model.devicePos[k];
        const dist = Math.hypot(p[0] - d.pos[0], p[1] - d.pos[1]);
        if (dist < bestD) {
          bestD = dist;
          best = k;
        }
      }
      if (best < 0) return approach(model, d, [d.pos[0], d.pos[1], alt], out).slice();
      const p = model.devicePos[best];
      return approach(model, d, [p[0], p[1], alt], out).slice();
    },
  };
}

/** Length of an open path start → order[0] → ... in the plane. */
function pathLength(start: number[], pts: number[][], order: number[]): number {
  let len = 0;
  let prev = start;
  for (const i of order) {
    len += Math.hypot(pts[i][0] - prev[0], pts[i][1] - prev[1]);
    prev = pts[i];
  }
  return len;
}

/** Nearest-neighbour order from `start`, then 2-opt until no reversal shortens the open path. */
export function planTour(start: number[], pts: number[][]): number[] {
  const left = new Set(pts.map((_, i) => i));
  const order: number[] = [];
  let cur = start;
  while (left.size) {
    let best = -1;
    let bestD = Infinity;
    for (const i of left) {
      const dd = Math.hypot(pts[i][0] - cur[0], pts[i][1] - cur[1]);
      if (dd < bestD) {
        bestD = dd;
        best = i;
      }
    }
    order.push(best);
    left.delete(best);
    cur = pts[best];
  }
  let improved = true;
  let bestLen = pathLength(start, pts, order);
  while (improved) {
    improved = false;
    for (let i = 0; i < order.length - 1; i++) {
      for (let j = i + 1; j < order.length; j++) {
        const cand = [...order.slice(0, i), ...order.slice(i, j + 1).reverse(), ...order.slice(j + 1)];
        const len = pathLength(start, pts, cand);
        if (len < bestLen - 1e-9) {
          order.splice(0, order.length, ...cand);
          bestLen = len;
          improved = true;
        }
      }
    }
  }
  return order;
}

export function createTour(_spec: EnvSpec, context: ControllerContext): Controller {
  const model = modelOf(context);
  const alt = model.scene.uav.cruiseAltitude;
  const out = new Float32Array(3);
  let order: number[] | null = null;
  return {
    kind: 'tour',
    reset() {
      order = null;
    },
    act(obs) {
      const d = decode(model, obs);
      if (!order) order = planTour(d.pos, model.devicePos);
      while (order.length && d.remaining[order[0]] <= DRAINED) order.shift();
      if (!order.length) return approach(model, d, [d.pos[0], d.pos[1], alt], out).slice();
      const p = model.devicePos[order[0]];
      return approach(model, d, [p[0], p[1], alt], out).slice();
    },
  };
}
