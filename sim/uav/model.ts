import type { Action } from '../../src/core/env.js';
import { ValidationError } from '../../src/core/errors.js';
import { Box } from '../../src/core/spaces.js';
import { axisReach, boxFence, finiteNumber, parseSetpointWith } from '../setpoint.js';
import type { DoneResult, Fence, Point3, TaskLimits, TaskModel } from '../task.js';
import { LosChannel } from './channel.js';
import type { UavScene } from './scene.js';
import { z } from 'zod';

/**
 * UAV data collection (after LLM-CRDT, arXiv 2509.13934), the pure half of the task.
 *
 * | part        | what                                                                              |
 * | ----------- | --------------------------------------------------------------------------------- |
 * | observation | 8 + 4K floats: UAV position (÷ area, in [-1, 1]), velocity (÷ max speed), battery  |
 * |             | fraction, time fraction; per device: relative position (÷ area) and data fraction  |
 * | action      | Box(-1, 1, [3]): normalised velocity setpoint (vx, vy by max speed, vz by max vz)  |
 * | reward      | scale · bits collected in the slot / joules spent in the slot, minus penalties     |
 * | start       | UAV at the scene's start ± jitter; device data ± jitter (seeded)                  |
 * | end         | terminated: all data collected, battery empty, crash, geofence; truncated: steps  |
 *
 * The same model runs on a ground station or a drone: the drone's telemetry is a UavState.
 */
export interface UavState {
  /** Seconds since the episode start. */
  t: number;
  pos: [number, number, number];
  vel: [number, number, number];
  /** Energy spent so far, J. */
  energyJ: number;
  /** Battery capacity, J. */
  batteryJ: number;
  /** Data each device still holds, bits. */
  remainingBits: number[];
  /** Data each device held at the start, bits. */
  initialBits: number[];
  /** Bits and joules of the last control slot (the reward's numerator and denominator). */
  slotBits: number;
  slotEnergyJ: number;
  /** Path length flown, m. */
  distance: number;
  crashed: boolean;
  outOfFence: boolean;
  /** Device index per resource block in the last slot, −1 for unused. */
  allocation: number[];
}

export interface UavSetpoint {
  /** Velocity setpoint, m/s, world frame (ENU). */
  vx: number;
  vy: number;
  vz: number;
}

/** A velocity setpoint on the wire: exactly vx, vy, vz, finite numbers (range is the guard's). */
const uavSetpointSchema = z.strictObject({ vx: finiteNumber, vy: finiteNumber, vz: finiteNumber });

/** An action component into [-1, 1], NaN to 0. */
const clampUnit = (v: number) => (Number.isNaN(v) ? 0 : Math.max(-1, Math.min(1, v)));

/** Metres kept clear inside the geofence for the autopilot's tracking error. */
const UAV_FENCE_MARGIN: Point3 = [1, 1, 1];

/** Telemetry a real drone sends on `state`: the same fields, checked. */
const finite = z.number().refine(Number.isFinite, 'expected a finite number');
export const uavStateSchema = z.object({
  t: finite,
  pos: z.tuple([finite, finite, finite]),
  vel: z.tuple([finite, finite, finite]),
  energyJ: finite.min(0),
  batteryJ: finite.positive(),
  remainingBits: z.array(finite.min(0)),
  initialBits: z.array(finite.positive()),
  slotBits: finite.min(0).default(0),
  slotEnergyJ: finite.min(0).default(0),
  distance: finite.min(0).default(0),
  crashed: z.boolean().default(false),
  outOfFence: z.boolean().default(false),
  allocation: z.array(z.number().int()).default([]),
});

export class UavModel implements TaskModel<UavState, UavSetpoint> {
  readonly id = 'uav-data-collection';
  readonly observationSpace: Box;
  readonly actionSpace = new Box(-1, 1, [3]);
  readonly limits: TaskLimits;
  readonly fence: Fence;
  readonly K: number;
  /** Device antenna positions [x, y, z]. */
  readonly devicePos: [number, number, number][];
  readonly channel: LosChannel;
  readonly episodeSeconds: number;
  private readonly Lx: number;
  private readonly Ly: number;
  private readonly H: number;

  constructor(readonly scene: UavScene) {
    this.K = scene.devices.length;
    this.Lx = scene.area.size[0];
    this.Ly = scene.area.size[1];
    this.H = scene.area.maxAltitude;
    this.channel = new LosChannel(scene.channel);
    this.devicePos = scene.devices.map((d) => [d.position[0], d.position[1], scene.channel.antennaHeight]);
    this.episodeSeconds = scene.maxEpisodeSteps / scene.controlHz;
    this.observationSpace = new Box(-Infinity, Infinity, [8 + 4 * this.K]);
    const { maxSpeed, maxVerticalSpeed, maxAccel } = scene.uav;
    this.limits = {
      setpoint: { vx: [-maxSpeed, maxSpeed], vy: [-maxSpeed, maxSpeed], vz: [-maxVerticalSpeed, maxVerticalSpeed] },
      rate: { vx: maxAccel, vy: maxAccel, vz: maxAccel },
      geofence: [0, 0, 0, this.Lx, this.Ly, this.H],
    };
    this.fence = boxFence(this.limits.geofence!, UAV_FENCE_MARGIN);
  }

  parseSetpoint(raw: unknown): UavSetpoint {
    return parseSetpointWith('uav', uavSetpointSchema, raw);
  }

  position(s: UavState): Point3 {
    return [s.pos[0], s.pos[1], s.pos[2]];
  }

  /** Per axis: fly at the setpoint for the horizon, then brake at maxAccel (the two extreme corners). */
  reach(s: UavState, sp: UavSetpoint, horizonS: number): Point3[] {
    const a = this.scene.uav.maxAccel;
    const v = [sp.vx, sp.vy, sp.vz];
    const r = [0, 1, 2].map((i) => axisReach(s.pos[i], v[i], s.vel[i], horizonS, a));
    return [
      [r[0][0], r[1][0], r[2][0]],
      [r[0][1], r[1][1], r[2][1]],
    ];
  }

  observe(s: UavState, out: Float32Array = new Float32Array(8 + 4 * this.K)): Float32Array {
    const { Lx, Ly, H } = this;
    const vmax = this.scene.uav.maxSpeed;
    out[0] = (2 * s.pos[0]) / Lx - 1;
    out[1] = (2 * s.pos[1]) / Ly - 1;
    out[2] = (2 * s.pos[2]) / H - 1;
    out[3] = s.vel[0] / vmax;
    out[4] = s.vel[1] / vmax;
    out[5] = s.vel[2] / vmax;
    out[6] = Math.max(0, 1 - s.energyJ / s.batteryJ);
    out[7] = s.t / this.episodeSeconds;
    for (let k = 0, o = 8; k < this.K; k++, o += 4) {
      const d = this.devicePos[k];
      out[o] = (d[0] - s.pos[0]) / Lx;
      out[o + 1] = (d[1] - s.pos[1]) / Ly;
      out[o + 2] = (d[2] - s.pos[2]) / H;
      out[o + 3] = s.remainingBits[k] / s.initialBits[k];
    }
    return out;
  }

  /** Normalised action → velocity setpoint; the horizontal speed is capped at maxSpeed. */
  toSetpoint(action: Action): UavSetpoint {
    if (typeof action === 'number' || action.length !== 3) {
      throw new ValidationError(`uav action must be 3 floats in [-1, 1], got ${typeof action === 'number' ? action : `${action.length} values`}`);
    }
    const { maxSpeed, maxVerticalSpeed } = this.scene.uav;
    let vx = clampUnit(action[0]) * maxSpeed;
    let vy = clampUnit(action[1]) * maxSpeed;
    const h = Math.hypot(vx, vy);
    if (h > maxSpeed) {
      vx *= maxSpeed / h;
      vy *= maxSpeed / h;
    }
    return { vx, vy, vz: clampUnit(action[2]) * maxVerticalSpeed };
  }

  /** Physical setpoint → normalised action (for scripted controllers that plan in m/s). */
  toAction(sp: UavSetpoint, out: Float32Array = new Float32Array(3)): Float32Array {
    const { maxSpeed, maxVerticalSpeed } = this.scene.uav;
    out[0] = Math.max(-1, Math.min(1, sp.vx / maxSpeed));
    out[1] = Math.max(-1, Math.min(1, sp.vy / maxSpeed));
    out[2] = Math.max(-1, Math.min(1, sp.vz / maxVerticalSpeed));
    return out;
  }

  holdSetpoint(): UavSetpoint {
    return { vx: 0, vy: 0, vz: 0 };
  }

  reward(_prev: UavState, next: UavState): number {
    const r = this.scene.reward;
    let reward = next.slotEnergyJ > 0 ? (r.scale * next.slotBits) / next.slotEnergyJ : 0;
    if (next.crashed) reward -= r.crashPenalty;
    if (next.outOfFence) reward -= r.geofencePenalty;
    return reward;
  }

  done(s: UavState): DoneResult {
    if (s.crashed) return { terminated: true, reason: 'crash' };
    if (s.outOfFence) return { terminated: true, reason: 'geofence' };
    if (this.totalRemaining(s) <= 1e-6 * this.totalInitial(s)) return { terminated: true, reason: 'all-collected' };
    if (s.energyJ >= s.batteryJ) return { terminated: true, reason: 'battery-empty' };
    return { terminated: false };
  }

  metrics(s: UavState): Record<string, number> {
    const initial = this.totalInitial(s);
    const collected = initial - this.totalRemaining(s);
    return {
      mbitCollected: collected / 1e6,
      fractionCollected: collected / initial,
      energyKJ: s.energyJ / 1000,
      efficiencyBitPerJ: s.energyJ > 0 ? collected / s.energyJ : 0,
      flightTimeS: s.t,
      distanceM: s.distance,
      crashes: s.crashed ? 1 : 0,
      geofenceBreaches: s.outOfFence ? 1 : 0,
    };
  }

  parseState(raw: unknown): UavState {
    const res = uavStateSchema.safeParse(raw);
    if (!res.success) {
      const first = res.error.issues[0];
      throw new ValidationError(`uav state: ${first.path.join('.') || '(root)'}: ${first.message}`, [], { cause: res.error });
    }
    const s = res.data as UavState;
    if (s.remainingBits.length !== this.K || s.initialBits.length !== this.K) {
      throw new ValidationError(`uav state: remainingBits/initialBits: expected ${this.K} devices, got ${s.remainingBits.length}/${s.initialBits.length}`);
    }
    return s;
  }

  totalRemaining(s: UavState): number {
    let sum = 0;
    for (const b of s.remainingBits) sum += b;
    return sum;
  }

  totalInitial(s: UavState): number {
    let sum = 0;
    for (const b of s.initialBits) sum += b;
    return sum;
  }

  /** Radio range of each device, m (3-D distance at which the SNR reaches minSnrDb). */
  deviceRanges(): number[] {
    return this.scene.devices.map((d) => this.channel.range(d.txPowerW));
  }
}
