import type { Controller } from '../../src/core/controller.js';
import type { NavModel } from '../../sim/navigation/model.js';
import type { Vec2 } from './geometry.js';

/**
 * Low-level waypoint reaching: given the pose and a waypoint (the lookahead point on the
 * planned path), return the normalised (v, ω) action. Two kinds: pure pursuit (scripted) and
 * a learned policy reading the lidar and the waypoint in the robot frame.
 */
export interface WaypointFollower {
  readonly kind: string;
  reset(): void;
  /** `obs` is the task observation; `remaining` is the path length left to a stopping point. */
  act(obs: Float32Array, pose: [number, number, number], waypoint: Vec2, remaining: number): Float32Array;
}

/**
 * Pure pursuit (Coulter 1992): steer on the arc through the lookahead point, curvature
 * κ = 2·sin α / L_d; ω = v·κ. The speed slows for sharp turns and near a stop; past
 * `spinAngle` the robot turns on the spot first.
 */
export class PurePursuit implements WaypointFollower {
  readonly kind = 'pure-pursuit';
  private readonly out = new Float32Array(2);
  constructor(
    readonly model: NavModel,
    readonly opts = { spinAngle: 1.0, stopGain: 1.2, turnGain: 2.5 },
  ) {}

  reset(): void {}

  act(_obs: Float32Array, pose: [number, number, number], waypoint: Vec2, remaining: number): Float32Array {
    const { maxSpeed, maxTurnRate } = this.model.scene.robot;
    const dx = waypoint[0] - pose[0];
    const dy = waypoint[1] - pose[1];
    const ld = Math.max(1e-3, Math.hypot(dx, dy));
    const alpha = Math.atan2(dy, dx) - pose[2];
    const a = Math.atan2(Math.sin(alpha), Math.cos(alpha));
    let v: number;
    let w: number;
    if (Math.abs(a) > this.opts.spinAngle) {
      v = 0;
      w = Math.sign(a) * Math.min(maxTurnRate, this.opts.turnGain * Math.abs(a));
    } else {
      v = Math.min(maxSpeed, this.opts.stopGain * remaining + 0.05) * Math.cos(a);
      const kappa = (2 * Math.sin(a)) / ld;
      w = v * kappa;
      if (Math.abs(w) > maxTurnRate) {
        v *= maxTurnRate / Math.abs(w);
        w = Math.sign(w) * maxTurnRate;
      }
    }
    return this.model.toAction({ v, omega: w }, this.out).slice();
  }
}

/**
 * A learned waypoint-reaching policy (SAC/PPO, trained on scenes/nav-waypoint.json). It reads
 * the low-level part of the observation (lidar, goal in the robot frame, speeds) with the goal
 * slots set to the planner's waypoint, so one policy serves any path.
 */
export class LearnedFollower implements WaypointFollower {
  readonly kind: string;
  private readonly buf: Float32Array;
  constructor(
    readonly model: NavModel,
    readonly policy: Controller,
    /** How many floats the policy reads (model.lowLevelSize, or the whole observation). */
    readonly inputSize = model.lowLevelSize,
  ) {
    this.kind = `learned-${policy.kind}`;
    this.buf = new Float32Array(inputSize);
  }

  reset(): void {
    this.policy.reset();
  }

  act(obs: Float32Array, pose: [number, number, number], waypoint: Vec2): Float32Array {
    const n = this.model.rays;
    const R = this.model.scene.lidar.maxRange;
    this.buf.set(obs.subarray(0, this.inputSize));
    const dx = waypoint[0] - pose[0];
    const dy = waypoint[1] - pose[1];
    const b = Math.atan2(dy, dx) - pose[2];
    this.buf[n] = Math.min(Math.hypot(dx, dy), 2 * R) / R;
    this.buf[n + 1] = Math.cos(b);
    this.buf[n + 2] = Math.sin(b);
    const a = this.policy.act(this.buf);
    return typeof a === 'number' ? new Float32Array([a, 0]) : Float32Array.from(a);
  }
}
