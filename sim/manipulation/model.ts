import type { Action } from '../../src/core/env.js';
import { ValidationError } from '../../src/core/errors.js';
import { Box, Discrete } from '../../src/core/spaces.js';
import { z } from 'zod';
import { boxFence, finiteNumber, parseSetpointWith } from '../setpoint.js';
import type { DoneResult, Fence, Point3, TaskLimits, TaskModel } from '../task.js';
import type { ManipulationScene } from './scene.js';

/**
 * Grasping a hidden target in clutter (Yang et al., "A Deep Learning Approach to Grasping
 * the Invisible"), the pure half of the task.
 *
 * | part        | what                                                                                   |
 * | ----------- | -------------------------------------------------------------------------------------- |
 * | observation | Box [3, P, P] (P = heightmap.pixels, 64): heightmap (m above the table), colour class  |
 * |             | (0 table, 1..n clutter colours, n + 1 target), target mask (1 where the target is seen) |
 * | action      | Discrete(2 · R · P · P): index = ((primitive · R + rotation) · P + row) · P + col,      |
 * |             | primitive 0 push, 1 grasp; θ = rotation · 2π / R. Or Box(-1, 1, [4]) (continuous)      |
 * | reward      | push: 0.25 target-oriented, 0.5 frees the target's margin; grasp: 0.5 on the target,   |
 * |             | 1.0 target grasped                                                                      |
 * | start state | seeded clutter of boxes, cylinders and convex hulls dropped in a pile; the target      |
 * |             | among it, or (with probability `hiddenProbability`) fully hidden under it               |
 * | episode end | terminated: target grasped (success) or target off the table; truncated: 20 motions    |
 *
 * Pixel (row, col) covers x = x0 + (col + ½)·res, y = y0 + (row + ½)·res, with (x0, y0) the
 * workspace's low corner: rows run along +y, columns along +x.
 */
export type PrimitiveName = 'push' | 'grasp';

export interface ManipSetpoint {
  /** 'hold' parks the gripper and does nothing (the watchdog's safe command). */
  primitive: PrimitiveName | 'hold';
  /** Workspace point, m, world frame. */
  x: number;
  y: number;
  /** Push direction, or the gripper's closing axis for a grasp, rad. */
  theta: number;
}

export interface ManipState {
  /** Heights above the table, m, row-major [P × P]. */
  heightmap: Float32Array;
  /** Colour class per pixel (0 = table). */
  colorMap: Uint8Array;
  /** 1 where the top surface seen from above is the target. */
  targetMask: Uint8Array;
  targetPixels: number;
  motions: number;
  pushes: number;
  grasps: number;
  graspSuccesses: number;
  consecutiveGraspFailures: number;
  /** Result of the last motion. */
  lastGraspSuccess: boolean;
  targetGrasped: boolean;
  /** The target left the table (pushed off): the episode cannot succeed. */
  targetLost: boolean;
  /** Whether the target was hidden (no pixel seen) when the episode started. */
  hiddenAtStart: boolean;
  /** Seconds of physics simulated in the episode. */
  simTime: number;
  /** Privileged: target centre [x, y, z] in the simulator (not in the observation). */
  targetPosition: [number, number, number];
  lastSetpoint: ManipSetpoint | null;
}

export function snapshotManipState(s: ManipState): ManipState {
  return {
    ...s,
    heightmap: s.heightmap.slice(),
    colorMap: s.colorMap.slice(),
    targetMask: s.targetMask.slice(),
    targetPosition: [...s.targetPosition],
    lastSetpoint: s.lastSetpoint ? { ...s.lastSetpoint } : null,
  };
}

/** Workspace ↔ pixel geometry shared by the task, its backend and the controllers. */
export class ManipGeometry {
  readonly P: number;
  readonly R: number;
  readonly res: number;
  readonly x0: number;
  readonly y0: number;
  readonly size: number;

  constructor(scene: Pick<ManipulationScene, 'workspace' | 'heightmap' | 'rotations'>) {
    this.P = scene.heightmap.pixels;
    this.R = scene.rotations;
    this.size = scene.workspace.size;
    this.res = this.size / this.P;
    this.x0 = scene.workspace.center[0] - this.size / 2;
    this.y0 = scene.workspace.center[1] - this.size / 2;
  }

  get numActions(): number {
    return 2 * this.R * this.P * this.P;
  }

  pixelToWorld(row: number, col: number): [number, number] {
    return [this.x0 + (col + 0.5) * this.res, this.y0 + (row + 0.5) * this.res];
  }

  /** Nearest pixel [row, col], clamped into the map. */
  worldToPixel(x: number, y: number): [number, number] {
    const c = Math.floor((x - this.x0) / this.res);
    const r = Math.floor((y - this.y0) / this.res);
    return [Math.min(this.P - 1, Math.max(0, r)), Math.min(this.P - 1, Math.max(0, c))];
  }

  inWorkspace(x: number, y: number): boolean {
    return x >= this.x0 && x <= this.x0 + this.size && y >= this.y0 && y <= this.y0 + this.size;
  }

  rotationAngle(k: number): number {
    return (k * 2 * Math.PI) / this.R;
  }

  encode(primitive: PrimitiveName, rotation: number, row: number, col: number): number {
    const p = primitive === 'push' ? 0 : 1;
    return ((p * this.R + rotation) * this.P + row) * this.P + col;
  }

  decode(index: number): { primitive: PrimitiveName; rotation: number; row: number; col: number } {
    const { P, R } = this;
    const col = index % P;
    const row = Math.floor(index / P) % P;
    const rotation = Math.floor(index / (P * P)) % R;
    const primitive = Math.floor(index / (P * P * R)) === 0 ? 'push' : 'grasp';
    return { primitive, rotation, row, col };
  }
}

/** Fraction of pixels in a ring of `ringPx` around the target mask whose height is above `h`. */
export function marginOccupancy(s: ManipState, P: number, ringPx: number, h: number): number {
  if (s.targetPixels === 0) return 1;
  let ring = 0;
  let occupied = 0;
  const r2 = ringPx * ringPx;
  const rp = Math.ceil(ringPx);
  // Distance to the mask by brute force over its bounding box grown by the ring: masks are small.
  let rmin = P, rmax = -1, cmin = P, cmax = -1;
  for (let i = 0; i < P * P; i++) {
    if (!s.targetMask[i]) continue;
    const r = Math.floor(i / P);
    const c = i % P;
    if (r < rmin) rmin = r;
    if (r > rmax) rmax = r;
    if (c < cmin) cmin = c;
    if (c > cmax) cmax = c;
  }
  for (let r = Math.max(0, rmin - rp); r <= Math.min(P - 1, rmax + rp); r++) {
    for (let c = Math.max(0, cmin - rp); c <= Math.min(P - 1, cmax + rp); c++) {
      const i = r * P + c;
      if (s.targetMask[i]) continue;
      let near = false;
      for (let rr = Math.max(0, r - rp); rr <= Math.min(P - 1, r + rp) && !near; rr++) {
        for (let cc = Math.max(0, c - rp); cc <= Math.min(P - 1, c + rp); cc++) {
          if (s.targetMask[rr * P + cc] && (rr - r) ** 2 + (cc - c) ** 2 <= r2) {
            near = true;
            break;
          }
        }
      }
      if (!near) continue;
      ring++;
      if (s.heightmap[i] > h) occupied++;
    }
  }
  return ring > 0 ? occupied / ring : 0;
}

/** A motion primitive on the wire: its name and a workspace point, finite numbers only. */
const manipSetpointSchema = z.strictObject({ primitive: z.enum(['push', 'grasp', 'hold']), x: finiteNumber, y: finiteNumber, theta: finiteNumber });

export class ManipulationModel implements TaskModel<ManipState, ManipSetpoint> {
  readonly id = 'manipulation-grasp-invisible';
  readonly observationSpace: Box;
  readonly actionSpace: Box | Discrete;
  readonly limits: TaskLimits;
  /** The workspace: every push and grasp starts inside it. */
  readonly fence: Fence;
  readonly geometry: ManipGeometry;
  /** Number of colour classes including the target (observation channel 1 is in [0, numClasses]). */
  readonly numClasses: number;
  readonly targetClass: number;

  constructor(readonly scene: ManipulationScene) {
    this.geometry = new ManipGeometry(scene);
    const { P } = this.geometry;
    this.observationSpace = new Box(-Infinity, Infinity, [3, P, P]);
    this.actionSpace = scene.action === 'discrete' ? new Discrete(this.geometry.numActions) : new Box(-1, 1, [4]);
    this.targetClass = scene.clutter.colors.length + 1;
    this.numClasses = this.targetClass;
    const g = this.geometry;
    this.limits = {
      setpoint: { x: [g.x0, g.x0 + g.size], y: [g.y0, g.y0 + g.size], theta: [-Math.PI, 2 * Math.PI] },
      geofence: [g.x0, g.y0, 0, g.x0 + g.size, g.y0 + g.size, scene.gripper.liftHeight + 0.2],
    };
    this.fence = boxFence(this.limits.geofence!, [0, 0, 0]);
  }

  parseSetpoint(raw: unknown): ManipSetpoint {
    return parseSetpointWith('manipulation', manipSetpointSchema, raw);
  }

  /** The gripper is parked between primitives; the state carries no position of it. */
  position(): null {
    return null;
  }

  /** A primitive goes to its workspace point on the table (hold goes nowhere). */
  reach(_s: ManipState, sp: ManipSetpoint): Point3[] {
    return sp.primitive === 'hold' ? [] : [[sp.x, sp.y, 0]];
  }

  observe(s: ManipState, out?: Float32Array): Float32Array {
    const n = this.geometry.P * this.geometry.P;
    const o = out ?? new Float32Array(3 * n);
    o.set(s.heightmap, 0);
    for (let i = 0; i < n; i++) {
      o[n + i] = s.colorMap[i];
      o[2 * n + i] = s.targetMask[i];
    }
    return o;
  }

  toSetpoint(action: Action): ManipSetpoint {
    const g = this.geometry;
    if (this.scene.action === 'discrete') {
      const a = typeof action === 'number' ? action : action.length === 1 ? action[0] : NaN;
      if (!Number.isInteger(a) || a < 0 || a >= g.numActions) {
        throw new ValidationError(`manipulation action must be an integer in [0, ${g.numActions}), got ${typeof action === 'number' ? action : `${action.length} values`}`);
      }
      const d = g.decode(a);
      const [x, y] = g.pixelToWorld(d.row, d.col);
      return { primitive: d.primitive, x, y, theta: g.rotationAngle(d.rotation) };
    }
    if (typeof action === 'number' || action.length !== 4) {
      throw new ValidationError(`manipulation continuous action must be 4 floats in [-1, 1] (primitive, x, y, θ)`);
    }
    const c = (v: number) => (Number.isNaN(v) ? 0 : Math.max(-1, Math.min(1, v)));
    return {
      primitive: c(action[0]) >= 0 ? 'grasp' : 'push',
      x: g.x0 + ((c(action[1]) + 1) / 2) * g.size,
      y: g.y0 + ((c(action[2]) + 1) / 2) * g.size,
      theta: c(action[3]) * Math.PI,
    };
  }

  holdSetpoint(): ManipSetpoint {
    return { primitive: 'hold', x: 0, y: 0, theta: 0 };
  }

  /** Rewards of GTI (Yang et al., sec. III): see the table above; thresholds are in metres so that they hold at any resolution. */
  reward(prev: ManipState, next: ManipState, sp: ManipSetpoint): number {
    const r = this.scene.reward;
    const g = this.geometry;
    if (sp.primitive === 'grasp') {
      if (next.targetGrasped && !prev.targetGrasped) return r.graspTarget;
      const [row, col] = g.worldToPixel(sp.x, sp.y);
      return prev.targetMask[row * g.P + col] ? r.graspOnTarget : 0;
    }
    if (sp.primitive !== 'push') return 0;
    // Frees the margin: the occupancy of the ring around the target falls by more than marginDrop.
    // When the target was hidden, revealing it frees it by definition (our choice: the paper's
    // ring is undefined without a mask).
    const ringPx = r.marginWidth / g.res;
    if (prev.targetPixels === 0 && next.targetPixels > 0) return r.pushFreesMargin;
    if (prev.targetPixels > 0 && next.targetPixels > 0) {
      const before = marginOccupancy(prev, g.P, ringPx, r.occupiedHeight);
      const after = marginOccupancy(next, g.P, ringPx, r.occupiedHeight);
      if (before - after > r.marginDrop) return r.pushFreesMargin;
    }
    // Target-oriented: the push line crosses the target mask for more than crossLength.
    if (prev.targetPixels > 0 && this.pushCrossing(prev, sp) > r.crossLength) return r.pushTargetOriented;
    return 0;
  }

  /** Length, m, of the push segment that lies over the target mask of `s`. */
  pushCrossing(s: ManipState, sp: ManipSetpoint): number {
    const g = this.geometry;
    const L = this.scene.gripper.pushLength;
    const n = Math.ceil((2 * L) / g.res);
    let inside = 0;
    for (let i = 0; i <= n; i++) {
      const t = (i / n) * L;
      const x = sp.x + t * Math.cos(sp.theta);
      const y = sp.y + t * Math.sin(sp.theta);
      if (!g.inWorkspace(x, y)) continue;
      const [row, col] = g.worldToPixel(x, y);
      if (s.targetMask[row * g.P + col]) inside++;
    }
    return (inside / (n + 1)) * L;
  }

  done(s: ManipState): DoneResult {
    if (s.targetGrasped) return { terminated: true, reason: 'target-grasped' };
    if (s.targetLost) return { terminated: true, reason: 'target-lost' };
    return { terminated: false };
  }

  metrics(s: ManipState): Record<string, number> {
    return {
      success: s.targetGrasped ? 1 : 0,
      motions: s.motions,
      pushes: s.pushes,
      grasps: s.grasps,
      graspSuccesses: s.graspSuccesses,
      graspSuccessRate: s.grasps > 0 ? s.graspSuccesses / s.grasps : 0,
      hiddenAtStart: s.hiddenAtStart ? 1 : 0,
      targetLost: s.targetLost ? 1 : 0,
      simSeconds: s.simTime,
    };
  }
}
