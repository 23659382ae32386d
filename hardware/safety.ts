import { existsSync, readFileSync } from 'node:fs';
import { writeJsonAtomic } from '../src/experiment/atomic.js';
import type { TaskLimits } from '../sim/task.js';
import { REJECT_REASONS, type Channel, type Envelope, type RejectReason, type SetpointWire } from './protocol.js';

/**
 * The safety layer (DESIGN.md "Safety"). It runs on both sides: the ground station filters
 * the commands it sends, and the robot filters the commands it executes, so neither side
 * trusts the other. Each rule here is a small class with its own test.
 */

export interface SafetyEvent {
  kind: 'clamp' | 'rate-limit' | 'geofence' | 'watchdog-hold' | 'watchdog-land' | 'estop' | 'estop-release' | 'rejected' | 'policy';
  severity: 'info' | 'warn' | 'error';
  detail: string;
}

// ---------------------------------------------------------------- setpoints

/** Position [x, y, z] of a state, for the geofence; tasks name it `pos` or `position`. */
export function positionOf(state: unknown): [number, number, number] | null {
  if (!state || typeof state !== 'object') return null;
  const s = state as Record<string, unknown>;
  const p = (s.pos ?? s.position) as unknown;
  if (p && typeof p === 'object' && 'length' in (p as object)) {
    const a = p as ArrayLike<number>;
    if (a.length >= 3 && [a[0], a[1], a[2]].every(Number.isFinite)) return [a[0], a[1], a[2]];
  }
  if (p && typeof p === 'object' && 'x' in (p as object)) {
    const o = p as { x: number; y: number; z: number };
    if ([o.x, o.y, o.z].every(Number.isFinite)) return [o.x, o.y, o.z];
  }
  return null;
}

export interface GuardResult {
  setpoint: SetpointWire;
  /** True when the guard replaced the command by hold (geofence, non-finite input). */
  held: boolean;
  events: SafetyEvent[];
}

/**
 * Clamp each numeric setpoint field to the task's [min, max], limit how fast it may change
 * (`limits.rate`, units per second), and replace by hold any setpoint that would leave the
 * geofence within `lookaheadS`. Velocity fields `vx/vy/vz` are projected from the state's
 * position; position fields `x/y/z` are checked directly. A setpoint already outside the
 * fence that points back in is allowed, so a robot can always return.
 */
export class SetpointGuard {
  private last: Record<string, number> | null = null;
  private readonly rateLimit: boolean;

  constructor(
    private readonly limits: TaskLimits,
    private readonly holdSetpoint: (state: unknown) => SetpointWire,
    private readonly lookaheadS = 1,
    options: { rateLimit?: boolean } = {},
  ) {
    this.rateLimit = options.rateLimit ?? true;
  }

  /** Forget the previous setpoint (new episode, or after a hold). */
  reset(): void {
    this.last = null;
  }

  filter(input: SetpointWire, state: unknown, dtS: number): GuardResult {
    const events: SafetyEvent[] = [];
    const out: SetpointWire = {};
    for (const [k, v] of Object.entries(input)) {
      if (typeof v !== 'number') {
        out[k] = v;
        continue;
      }
      if (!Number.isFinite(v)) return this.hold(state, events, `setpoint.${k} is not finite`);
      let x = v;
      const range = this.limits.setpoint[k];
      if (range) {
        const c = Math.min(range[1], Math.max(range[0], x));
        if (c !== x) events.push({ kind: 'clamp', severity: 'info', detail: `${k} ${fmt(x)} → ${fmt(c)}` });
        x = c;
      }
      const rate = this.rateLimit ? this.limits.rate?.[k] : undefined;
      const prev = this.last?.[k];
      if (rate !== undefined && prev !== undefined && dtS > 0) {
        const maxStep = rate * dtS;
        const c = Math.min(prev + maxStep, Math.max(prev - maxStep, x));
        if (c !== x) events.push({ kind: 'rate-limit', severity: 'info', detail: `${k} ${fmt(x)} → ${fmt(c)} (≤ ${rate}/s)` });
        x = c;
      }
      out[k] = x;
    }
    for (const k of Object.keys(this.limits.setpoint)) {
      if (!(k in out)) return this.hold(state, events, `setpoint lacks field ${k}`);
    }
    const fence = this.limits.geofence;
    if (fence && fence.length === 6) {
      const why = leavesFence(out, state, fence, this.lookaheadS, this.limits.rate);
      if (why) return this.hold(state, events, why, 'geofence');
    }
    this.last = numericFields(out);
    return { setpoint: out, held: false, events };
  }

  private hold(state: unknown, events: SafetyEvent[], detail: string, kind: SafetyEvent['kind'] = 'clamp'): GuardResult {
    const sp = this.holdSetpoint(state);
    events.push({ kind, severity: 'warn', detail: `${detail}: holding` });
    // Hold is applied at once (never rate-limited); the next command ramps from it.
    this.last = numericFields(sp);
    return { setpoint: sp, held: true, events };
  }
}

function numericFields(sp: SetpointWire): Record<string, number> {
  const r: Record<string, number> = {};
  for (const [k, v] of Object.entries(sp)) if (typeof v === 'number') r[k] = v;
  return r;
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(3);
}

/** Velocity [vx, vy, vz] of a state (`vel` or `velocity`), if it has one. */
export function velocityOf(state: unknown): [number, number, number] | null {
  if (!state || typeof state !== 'object') return null;
  const s = state as Record<string, unknown>;
  return positionOf({ pos: s.vel ?? s.velocity });
}

/**
 * Why `sp` leaves the fence [xmin, ymin, zmin, xmax, ymax, zmax], or null if it does not.
 * For a velocity setpoint, the robot is predicted to fly `lookaheadS` at the setpoint and then
 * brake at the axis's maximum acceleration (`accel`, the rate limit) from the faster, in the
 * outward direction, of the setpoint and its current velocity: holding must still stop it
 * inside the fence, with `margin` metres to spare for the tracking error of the autopilot.
 */
export function leavesFence(sp: SetpointWire, state: unknown, fence: number[], lookaheadS: number, accel?: Record<string, number>, margin = 1): string | null {
  const axes = ['x', 'y', 'z'] as const;
  const pos = positionOf(state);
  const vel = velocityOf(state);
  for (let i = 0; i < 3; i++) {
    const lo = fence[i];
    const hi = fence[i + 3];
    const v = sp[`v${axes[i]}`];
    const p = sp[axes[i]];
    if (typeof p === 'number' && (p < lo || p > hi)) return `${axes[i]} setpoint ${fmt(p)} outside [${lo}, ${hi}]`;
    if (typeof v === 'number' && pos) {
      const a = accel?.[`v${axes[i]}`];
      const cur = vel ? vel[i] : 0;
      const up = Math.max(v, cur, 0);
      const down = Math.min(v, cur, 0);
      const brakeUp = a ? (up * up) / (2 * a) : 0;
      const brakeDown = a ? (down * down) / (2 * a) : 0;
      const hiReach = pos[i] + Math.max(v, 0) * lookaheadS + brakeUp;
      const loReach = pos[i] + Math.min(v, 0) * lookaheadS - brakeDown;
      // Within `margin` of the fence, any outward motion (commanded or residual) holds.
      if ((v > 0 || cur > 0) && hiReach > hi - margin) return `${axes[i]} would reach ${fmt(hiReach)} (fence ${hi}, margin ${margin} m) before it could stop`;
      if ((v < 0 || cur < 0) && loReach < lo + margin) return `${axes[i]} would reach ${fmt(loReach)} (fence ${lo}, margin ${margin} m) before it could stop`;
    }
  }
  return null;
}

// ---------------------------------------------------------------- message ordering

export interface GateOptions {
  /** A message older than this (by its tMs against our clock) is stale. */
  maxAgeMs?: number;
  /** A message this far in the future is stale too (clock skew bound). */
  maxFutureMs?: number;
  /**
   * A sender that restarts without a wall-clock seq may start again from a low seq; we accept
   * a lower seq only when its tMs is at least this much newer than the last accepted one.
   */
  seqResetGapMs?: number;
}

/**
 * Drop out-of-order `seq` and stale `tMs`, per (robot, channel). Stale and reordered
 * commands are what a reconnect burst produces, and executing them is the failure we guard.
 */
export class MessageGate {
  private readonly last = new Map<string, { seq: number; tMs: number }>();
  private readonly maxAgeMs: number;
  private readonly maxFutureMs: number;
  private readonly seqResetGapMs: number;

  constructor(options: GateOptions = {}) {
    this.maxAgeMs = options.maxAgeMs ?? 500;
    this.maxFutureMs = options.maxFutureMs ?? 500;
    this.seqResetGapMs = options.seqResetGapMs ?? 2000;
  }

  check(msg: Envelope, channel: Channel, nowMs = Date.now()): { ok: true } | { ok: false; reason: RejectReason; detail: string } {
    const age = nowMs - msg.tMs;
    if (age > this.maxAgeMs) return { ok: false, reason: 'stale', detail: `${channel} seq ${msg.seq} is ${Math.round(age)} ms old (> ${this.maxAgeMs})` };
    if (-age > this.maxFutureMs) return { ok: false, reason: 'stale', detail: `${channel} seq ${msg.seq} is ${Math.round(-age)} ms in the future` };
    const key = `${msg.robotId}/${channel}`;
    const prev = this.last.get(key);
    if (prev && msg.seq <= prev.seq && !(msg.tMs - prev.tMs >= this.seqResetGapMs)) {
      return { ok: false, reason: 'out-of-order', detail: `${channel} seq ${msg.seq} after ${prev.seq}` };
    }
    this.last.set(key, { seq: msg.seq, tMs: msg.tMs });
    return { ok: true };
  }
}

// ---------------------------------------------------------------- rejections

/**
 * Counts of dropped messages per reason. Reports go out on `events` at most once per
 * `reportEveryMs`, so a flood of garbage cannot turn into a flood of events.
 */
export class RejectCounter {
  readonly counts: Record<RejectReason, number> = Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as Record<RejectReason, number>;
  private lastReport = 0;
  private pending = 0;
  private lastDetail = '';

  constructor(private readonly reportEveryMs = 1000) {}

  get total(): number {
    return Object.values(this.counts).reduce((a, b) => a + b, 0);
  }

  /** Count one rejection; returns a report to publish when one is due. */
  add(reason: RejectReason, detail: string, nowMs = Date.now()): { detail: string; counts: Record<string, number> } | null {
    this.counts[reason]++;
    this.pending++;
    this.lastDetail = `${reason}: ${detail}`;
    return this.due(nowMs);
  }

  /** A report of pending rejections, if the interval has passed. */
  due(nowMs = Date.now()): { detail: string; counts: Record<string, number> } | null {
    if (this.pending === 0 || nowMs - this.lastReport < this.reportEveryMs) return null;
    const detail = `${this.pending} message(s) rejected; last ${this.lastDetail}`.slice(0, 1024);
    this.pending = 0;
    this.lastReport = nowMs;
    return { detail, counts: { ...this.counts } };
  }
}

// ---------------------------------------------------------------- watchdog

export type WatchdogState = 'ok' | 'hold' | 'land';

/**
 * Robot-side deadman (PX4 offboard loss, twist_mux, Husky cmd_vel_timeout): no valid `cmd`
 * within its ttl → hold; holding longer than `landAfterMs` → land or stop.
 */
export class Watchdog {
  private deadline = -Infinity;
  private holdSince: number | null = null;

  constructor(private readonly landAfterMs = 3000) {}

  /** A valid command arrived at `nowMs` with this ttl. */
  feed(ttlMs: number, nowMs: number): void {
    this.deadline = nowMs + ttlMs;
    this.holdSince = null;
  }

  /** Start out expired, e.g. at boot or after an e-stop release: nothing moves until a cmd. */
  expire(nowMs: number): void {
    this.deadline = -Infinity;
    this.holdSince = nowMs;
  }

  check(nowMs: number): WatchdogState {
    if (nowMs <= this.deadline) return 'ok';
    if (this.holdSince === null) this.holdSince = Number.isFinite(this.deadline) ? this.deadline : nowMs;
    return nowMs - this.holdSince >= this.landAfterMs ? 'land' : 'hold';
  }

  /** ms until the current command expires (negative once it has). */
  remainingMs(nowMs: number): number {
    return this.deadline - nowMs;
  }
}

// ---------------------------------------------------------------- e-stop

export interface EStopRecord {
  engaged: boolean;
  reason: string;
  /** tMs of the message that set this state. */
  tMs: number;
}

/**
 * The latched e-stop. Engaging always wins, whatever its age; only an explicit release
 * newer than the engagement clears it. The latch is persisted, so it survives a restart of
 * the robot and a broker that lost its retained message.
 */
export class EStopLatch {
  private rec: EStopRecord = { engaged: false, reason: '', tMs: 0 };

  constructor(
    private readonly file?: string,
    private readonly maxFutureMs = 500,
  ) {
    if (file && existsSync(file)) {
      try {
        const r = JSON.parse(readFileSync(file, 'utf8')) as EStopRecord;
        if (typeof r.engaged === 'boolean' && typeof r.tMs === 'number') this.rec = { engaged: r.engaged, reason: String(r.reason ?? ''), tMs: r.tMs };
      } catch {
        // A corrupt latch file fails safe: engaged until released.
        this.rec = { engaged: true, reason: 'unreadable e-stop file', tMs: 0 };
      }
    }
  }

  get engaged(): boolean {
    return this.rec.engaged;
  }

  get record(): EStopRecord {
    return { ...this.rec };
  }

  /** Apply an estop message; returns the event when the latch changed. */
  apply(msg: { engaged: boolean; reason: string }, tMs: number, nowMs = Date.now()): SafetyEvent | null {
    if (msg.engaged) {
      if (this.rec.engaged) return null;
      // Stamp with our clock at the latest: a sender's clock running ahead must not make
      // every release look older than the engagement.
      this.set({ engaged: true, reason: msg.reason, tMs: Math.min(tMs, nowMs) });
      return { kind: 'estop', severity: 'error', detail: `e-stop engaged: ${msg.reason}` };
    }
    if (!this.rec.engaged) return null;
    if (tMs <= this.rec.tMs) return null; // a release older than the engagement is not a release of it
    if (tMs > nowMs + this.maxFutureMs) return null; // nor is one from the future
    this.set({ engaged: false, reason: msg.reason, tMs });
    return { kind: 'estop-release', severity: 'warn', detail: `e-stop released: ${msg.reason}` };
  }

  private set(rec: EStopRecord): void {
    this.rec = rec;
    if (this.file) writeJsonAtomic(this.file, rec);
  }
}
