import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { writeJsonAtomic } from '../src/core/atomic.js';
import type { TaskModel } from '../sim/task.js';
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

export interface GuardResult<Setpoint = SetpointWire> {
  /** What the driver may receive: parsed, finite, within limits and fence, or the task's hold. */
  setpoint: Setpoint;
  /** True when the guard replaced the command by hold (refused setpoint, geofence). */
  held: boolean;
  events: SafetyEvent[];
}

export interface GuardOptions {
  /** Seconds the setpoint is predicted to be tracked before braking (default 1). */
  horizonS?: number;
  /** Limit how fast each field may change (`limits.rate`, default on). */
  rateLimit?: boolean;
}

/**
 * The setpoint gate, on both sides. It knows a task only through its TaskModel (never by
 * field names), so every rule holds for every task:
 * 1. `model.parseSetpoint` checks the raw setpoint (own properties, finite numbers, every
 *    field, no unknown one); a refused setpoint is replaced by hold and reported.
 * 2. each field named in `model.limits.setpoint` is clamped to its [min, max], and changes are
 *    rate-limited (`limits.rate`, units per second);
 * 3. when the task has a fence, `model.reach` (where the setpoint takes the robot within the
 *    horizon, braking included) must stay inside it, less its margin, on every axis the robot
 *    moves outwards on; else hold. A robot already outside may always move back in.
 */
export class SetpointGuard<State = any, Setpoint = any> {
  private last: Record<string, number> | null = null;
  private readonly rateLimit: boolean;
  private readonly horizonS: number;

  constructor(
    private readonly model: TaskModel<State, Setpoint>,
    options: GuardOptions = {},
  ) {
    this.rateLimit = options.rateLimit ?? true;
    this.horizonS = options.horizonS ?? 1;
  }

  /** Forget the previous setpoint (new episode, or after a hold). */
  reset(): void {
    this.last = null;
  }

  /** `state` is the parsed State (model.parseState), or null when the robot's telemetry was refused. */
  filter(raw: unknown, state: State | null, dtS: number): GuardResult<Setpoint> {
    const events: SafetyEvent[] = [];
    if (state === null) return this.hold(state, events, 'no valid state of the robot', 'rejected');
    let parsed: Setpoint;
    try {
      parsed = this.model.parseSetpoint(raw);
    } catch (err) {
      return this.hold(state, events, `setpoint refused: ${(err as Error).message}`.slice(0, 300), 'rejected');
    }
    const out = { ...(parsed as object) } as Record<string, unknown>;
    for (const [k, range] of Object.entries(this.model.limits.setpoint)) {
      if (!Object.hasOwn(out, k)) continue;
      const v = out[k];
      if (typeof v !== 'number' || !Number.isFinite(v)) return this.hold(state, events, `setpoint.${k} is not a finite number`, 'rejected');
      let x = Math.min(range[1], Math.max(range[0], v));
      if (x !== v) events.push({ kind: 'clamp', severity: 'info', detail: `${k} ${fmt(v)} → ${fmt(x)}` });
      const rate = this.rateLimit ? this.model.limits.rate?.[k] : undefined;
      const prev = this.last && Object.hasOwn(this.last, k) ? this.last[k] : undefined;
      if (rate !== undefined && prev !== undefined && dtS > 0) {
        const maxStep = rate * dtS;
        const c = Math.min(prev + maxStep, Math.max(prev - maxStep, x));
        if (c !== x) events.push({ kind: 'rate-limit', severity: 'info', detail: `${k} ${fmt(x)} → ${fmt(c)} (≤ ${rate}/s)` });
        x = c;
      }
      out[k] = x;
    }
    const sp = out as Setpoint;
    const why = this.leavesFence(sp, state);
    if (why) return this.hold(state, events, why, 'geofence');
    this.last = numericFields(out);
    return { setpoint: sp, held: false, events };
  }

  /** Why `sp` takes the robot out of the task's fence, or null. */
  private leavesFence(sp: Setpoint, state: State): string | null {
    const fence = this.model.fence;
    if (fence.kind !== 'box') return null;
    const pos = this.model.position(state);
    const axes = ['x', 'y', 'z'];
    for (const p of this.model.reach(state, sp, this.horizonS)) {
      for (let i = 0; i < 3; i++) {
        if (!Number.isFinite(p[i])) return `predicted ${axes[i]} is not finite`;
        const lo = fence.min[i] + fence.margin[i];
        const hi = fence.max[i] - fence.margin[i];
        // Only motion outwards counts: from outside the margin, a robot may always come back.
        const outwardsUp = pos === null || p[i] > pos[i] + 1e-9;
        const outwardsDown = pos === null || p[i] < pos[i] - 1e-9;
        if (p[i] > hi && outwardsUp) return `${axes[i]} would reach ${fmt(p[i])} (fence ${fence.max[i]}, margin ${fence.margin[i]} m) before it could stop`;
        if (p[i] < lo && outwardsDown) return `${axes[i]} would reach ${fmt(p[i])} (fence ${fence.min[i]}, margin ${fence.margin[i]} m) before it could stop`;
      }
    }
    return null;
  }

  private hold(state: State | null, events: SafetyEvent[], detail: string, kind: SafetyEvent['kind']): GuardResult<Setpoint> {
    const sp = this.model.holdSetpoint(state as State);
    events.push({ kind, severity: 'warn', detail: `${detail}: holding` });
    // Hold is applied at once (never rate-limited); the next command ramps from it.
    this.last = numericFields(sp as Record<string, unknown>);
    return { setpoint: sp, held: true, events };
  }
}

function numericFields(sp: Record<string, unknown>): Record<string, number> {
  const r: Record<string, number> = Object.create(null);
  for (const [k, v] of Object.entries(sp)) if (typeof v === 'number') r[k] = v;
  return r;
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(3);
}

/** Parse a robot's telemetry with the task's own schema; null when it is refused. */
export function parseStateOrNull<State>(model: TaskModel<State, unknown>, raw: unknown): State | null {
  try {
    return model.parseState ? model.parseState(raw) : (raw as State);
  } catch {
    return null;
  }
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
  /** tMs of the latest engage (when engaged), or of the release that cleared it. */
  tMs: number;
}

/** The latch file: the record and the sha256 of its canonical JSON, so a torn or edited file is seen. */
const latchFileSchema = z.strictObject({
  engaged: z.boolean(),
  reason: z.string().max(256),
  tMs: z.number().refine(Number.isFinite),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

function latchChecksum(r: EStopRecord): string {
  return createHash('sha256').update(JSON.stringify([r.engaged, r.reason, r.tMs])).digest('hex');
}

/** Why a release was not applied (reported on `events`). */
export type ReleaseRefusal = 'not-newer' | 'future' | 'zero-time';

/**
 * The latched e-stop. Engaging always wins, whatever its age, and every engage moves the
 * latch time forward to the newest engage; only an explicit release newer than the latest
 * engage clears it. The latch is persisted atomically with a checksum, so it survives a
 * restart of the robot and a broker that lost its retained message; an unreadable file
 * means engaged, at the time it was read (so no release from before the restart counts).
 */
export class EStopLatch {
  private rec: EStopRecord = { engaged: false, reason: '', tMs: 0 };
  /** Set when the last release was refused, for the event. */
  lastRefusal: ReleaseRefusal | null = null;

  constructor(
    private readonly file?: string,
    private readonly maxFutureMs = 500,
    nowMs = Date.now(),
  ) {
    if (file && existsSync(file)) {
      let ok = false;
      try {
        const r = latchFileSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
        if (r.success && r.data.sha256 === latchChecksum(r.data)) {
          this.rec = { engaged: r.data.engaged, reason: r.data.reason, tMs: r.data.tMs };
          ok = true;
        }
      } catch {
        // unreadable: below
      }
      // A corrupt latch file fails safe: engaged, as of now, until a newer release.
      if (!ok) this.set({ engaged: true, reason: 'e-stop file unreadable or corrupt', tMs: nowMs });
    }
  }

  get engaged(): boolean {
    return this.rec.engaged;
  }

  get record(): EStopRecord {
    return { ...this.rec };
  }

  /** Apply an estop message; returns the event when the latch changed or a release was refused. */
  apply(msg: { engaged: boolean; reason: string }, tMs: number, nowMs = Date.now()): SafetyEvent | null {
    this.lastRefusal = null;
    if (msg.engaged) {
      // Stamp with our clock at the latest: a sender's clock running ahead must not make
      // every release look older than the engagement.
      const t = Math.min(tMs, nowMs);
      if (this.rec.engaged) {
        // A second engage moves the latch time on: a release must be newer than it too.
        if (t > this.rec.tMs) this.set({ engaged: true, reason: this.rec.reason, tMs: t });
        return null;
      }
      this.set({ engaged: true, reason: msg.reason, tMs: Math.max(t, this.rec.tMs) });
      return { kind: 'estop', severity: 'error', detail: `e-stop engaged: ${msg.reason}` };
    }
    if (!this.rec.engaged) return null;
    let refusal: ReleaseRefusal | null = null;
    if (tMs <= 0) refusal = 'zero-time';
    else if (tMs <= this.rec.tMs) refusal = 'not-newer'; // a release older than the engagement is not a release of it
    else if (tMs > nowMs + this.maxFutureMs) refusal = 'future'; // nor is one from the future
    if (refusal) {
      this.lastRefusal = refusal;
      return { kind: 'estop', severity: 'warn', detail: `e-stop release refused (${refusal}): stamped ${tMs}, latest engage ${this.rec.tMs}` };
    }
    this.set({ engaged: false, reason: msg.reason, tMs });
    return { kind: 'estop-release', severity: 'warn', detail: `e-stop released: ${msg.reason}` };
  }

  private set(rec: EStopRecord): void {
    this.rec = rec;
    if (this.file) writeJsonAtomic(this.file, { ...rec, sha256: latchChecksum(rec) });
  }
}
