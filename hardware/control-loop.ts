import type { Controller } from '../src/core/controller.js';
import type { TaskModel } from '../sim/task.js';
import type { Driver, StepOutcome } from './devices/driver.js';
import type { Envelope, SetpointWire } from './protocol.js';
import { EStopLatch, parseStateOrNull, RejectCounter, SetpointGuard, Watchdog, type SafetyEvent } from './safety.js';

/**
 * The agent's control loop: what the device is told to do, and when. It executes `cmd` from
 * a ground station, or runs the on-board policy one inference per control step, behind the
 * robot-side safety layer (clamp/rate/geofence, watchdog, e-stop). It swaps a new policy in
 * only between two control steps, and advances lockstep devices. It knows nothing of MQTT:
 * `agent.ts` routes messages in and hands it the `LoopPorts` to report through.
 */

export type Mode = 'idle' | 'remote' | 'policy' | 'hold' | 'landing' | 'stopped' | 'estop';

export interface ExecutedCommand {
  seq: number;
  tMs: number;
  atMs: number;
  setpoint: SetpointWire;
  source: 'cmd' | 'policy' | 'hold' | 'land' | 'estop';
}

/** How the loop reports: the agent publishes each of these on MQTT. */
export interface LoopPorts {
  /** Publish this telemetry on `state` (with the episode of a simulated device); returns its seq. */
  publishState(state: Record<string, unknown>, cmdSeq: number | undefined): number;
  /** The mode or the active policy changed. */
  publishStatus(): void;
  event(e: SafetyEvent): void;
  /** A message that passed the gate but fails a check here (it needs the robot's state or clock). */
  rejectLate(reason: Parameters<RejectCounter['add']>[0], detail: string): void;
  log(line: string): void;
}

export interface ControlLoopOptions {
  driver: Driver;
  model: TaskModel<any, any>;
  /** The agent's latch: the agent applies `estop` messages to it, the loop obeys it. */
  estop: EStopLatch;
  /** Seconds per control step. */
  controlPeriodS: number;
  /** `auto`: run the local policy when one is active, else obey `cmd`. */
  mode?: 'auto' | 'policy' | 'remote';
  /** Hold this long before landing/stopping, ms (default 3000). */
  landAfterMs?: number;
  /** Oldest `cmd` executed, ms (the gate's maxAgeMs). */
  maxAgeMs: number;
  /** Robot-side setpoint rate limit (default on). Geofence and clamping are always on. */
  rateLimit?: boolean;
  pace?: 'realtime' | 'fast';
  holdClock?: 'frozen' | 'realtime';
}

export class ControlLoop {
  mode: Mode = 'idle';
  policyId: string | null = null;
  /** Last 20,000 setpoints given to the driver, for tests and post-mortems. */
  readonly executed: ExecutedCommand[] = [];
  /** A simulated device has run all its episodes: nothing moves any more. */
  finished = false;

  private readonly driver: Driver;
  private readonly model: TaskModel<any, any>;
  private readonly estop: EStopLatch;
  private readonly watchdog: Watchdog;
  private readonly guard: SetpointGuard;
  private readonly periodMs: number;
  private controller: Controller | null = null;
  private pending: { controller: Controller; policyId: string } | null = null;
  /** The last policy step's state and setpoint, for the reward the controller hears (the DT's return-to-go). */
  private lastPolicyStep: { state: unknown; setpoint: SetpointWire } | null = null;
  private lastStateSeq = -1;
  private lastAutoStepMs = 0;
  private lastIdlePublishMs = 0;
  private episodeStarted = false;
  private stopped = false;
  private policyLoopRunning = false;

  constructor(
    private readonly options: ControlLoopOptions,
    private readonly ports: LoopPorts,
  ) {
    this.driver = options.driver;
    this.model = options.model;
    this.estop = options.estop;
    this.watchdog = new Watchdog(options.landAfterMs ?? 3000);
    this.periodMs = options.controlPeriodS * 1000;
    this.guard = new SetpointGuard(this.model, { horizonS: Math.max(1, options.controlPeriodS), rateLimit: options.rateLimit !== false });
  }

  /** A policy resumed from disk at start-up: active at once. */
  resume(controller: Controller, policyId: string): void {
    this.controller = controller;
    this.policyId = policyId;
  }

  /** A deployment checked and persisted: active from the next control step. */
  offer(controller: Controller, policyId: string): void {
    this.pending = { controller, policyId };
  }

  /** Nothing moves until the first command (or policy step); the device stops if e-stopped. */
  async start(): Promise<void> {
    this.episodeStarted = false;
    this.watchdog.expire(Date.now());
    if (this.estop.engaged) await this.driver.stop();
    this.announce(await this.driver.readState(), undefined);
  }

  /** No further steps (the agent is closing). */
  stop(): void {
    this.stopped = true;
  }

  // ------------------------------------------------------------ e-stop and cmd

  /** The latch just engaged: stop at once, not when the queue reaches the message. */
  engageEstop(seq: number, tMs: number): void {
    if (this.mode === 'estop') return;
    this.setMode('estop');
    void Promise.resolve(this.driver.stop()).catch(() => {});
    this.record(seq, tMs, 'estop');
  }

  async onEstop(msg: Envelope<'estop'>, ev: SafetyEvent): Promise<void> {
    this.ports.event(ev);
    if (ev.kind === 'estop') {
      // Engaged: already stopped by engageEstop. A refused release changes nothing.
      return;
    } else {
      // Released: hold until a fresh command (or the local policy's next step).
      this.watchdog.expire(Date.now());
      await this.driver.hold();
      this.record(msg.seq, msg.tMs, 'hold');
      this.setMode('hold');
    }
  }

  async onCmd(msg: Envelope<'cmd'>, receivedMs: number): Promise<void> {
    if (this.estop.engaged || this.finished) return;
    if (this.usesPolicy()) return;
    const p = msg.payload;
    // A lockstep device only acts on a command that answers the state it last published.
    if (this.driver.step && p.stateSeq !== undefined && p.stateSeq < this.lastStateSeq) {
      return this.ports.rejectLate('stale', `cmd seq ${msg.seq} answers state ${p.stateSeq}, latest is ${this.lastStateSeq}`);
    }
    // Age again at execution: a command that waited in our own queue is just as stale, and one
    // whose own ttl has run out is over.
    const now = Date.now();
    const age = now - msg.tMs;
    if (age > Math.min(this.options.maxAgeMs, p.ttlMs)) return this.ports.rejectLate('stale', `cmd seq ${msg.seq} is ${Math.round(age)} ms old at execution (ttl ${p.ttlMs})`);
    // It lives until tMs + ttl by the sender's clock, or receipt + ttl if that is sooner.
    this.watchdog.feed(p.ttlMs, Math.min(receivedMs, msg.tMs));
    const state = parseStateOrNull(this.model, await this.driver.readState());
    const g = this.guard.filter(p.setpoint, state, this.options.controlPeriodS);
    for (const e of g.events) if (e.severity !== 'info') this.ports.event(e);
    // The e-stop is applied as it arrives, so it may have come in while we read the state.
    if (this.estop.engaged) return;
    await this.driver.sendSetpoint(g.setpoint as SetpointWire);
    this.executed.push({ seq: msg.seq, tMs: msg.tMs, atMs: Date.now(), setpoint: g.setpoint, source: 'cmd' });
    this.trimLog();
    this.setMode('remote');
    this.episodeStarted = true;
    if (this.driver.step) await this.advance(msg.seq);
  }

  // ------------------------------------------------------------ clock

  /** One tick of the agent's clock (every 10 ms): swap, e-stop, policy step, or watchdog. */
  async tick(now: number): Promise<void> {
    if (this.pending && !this.policyLoopRunning) this.swapPolicy();
    if (this.finished) return;
    if (this.estop.engaged) {
      if (this.mode !== 'estop') {
        this.setMode('estop');
        await this.driver.stop();
      }
      return this.autoStep(now);
    }
    if (this.usesPolicy()) {
      if (this.options.pace === 'fast') {
        // Simulation only: step back to back for up to 20 ms, then let messages in.
        const until = performance.now() + 20;
        while (performance.now() < until && this.usesPolicy() && !this.estop.engaged && !this.finished && !this.stopped) await this.policyStep();
      } else if (now - this.lastAutoStepMs >= this.periodMs) {
        this.lastAutoStepMs = now;
        await this.policyStep();
      }
      return;
    }
    const wd = this.watchdog.check(now);
    if (wd === 'ok') return;
    if (!this.episodeStarted) {
      // Before the first command of an episode, nothing moves; re-announce the state for late joiners.
      if (now - this.lastIdlePublishMs >= 1000) this.announce(await this.driver.readState(), undefined);
      return;
    }
    if (wd === 'hold' && this.mode !== 'hold') {
      await this.driver.hold();
      this.record(-1, now, 'hold');
      this.ports.event({ kind: 'watchdog-hold', severity: 'warn', detail: `no valid cmd within its ttl: holding` });
      this.setMode('hold');
    } else if (wd === 'land' && this.mode !== 'landing') {
      await this.driver.stop();
      this.record(-1, now, 'land');
      this.ports.event({ kind: 'watchdog-land', severity: 'error', detail: `holding for ${this.options.landAfterMs ?? 3000} ms without a cmd: landing` });
      this.setMode('landing');
    }
    if (this.driver.step && this.options.holdClock !== 'realtime') {
      // Frozen lockstep device: re-announce the state it waits at, so a ground station that
      // lost it (broker restart) can answer it and resume.
      if (now - this.lastIdlePublishMs >= Math.max(this.periodMs, 100)) this.announce(await this.driver.readState(), undefined);
      return;
    }
    await this.autoStep(now);
  }

  /**
   * Lockstep devices advance only on commands by default, so latency never changes the
   * episode; with `holdClock: 'realtime'` they also keep their own clock while holding,
   * landing or e-stopped (to watch a hold or a landing happen).
   */
  private async autoStep(now: number): Promise<void> {
    if (!this.driver.step || !this.episodeStarted || this.options.holdClock !== 'realtime') return;
    if (now - this.lastAutoStepMs < this.periodMs) return;
    this.lastAutoStepMs = now;
    await this.advance(undefined);
  }

  private async advance(cmdSeq: number | undefined): Promise<void> {
    const out = (await this.driver.step!()) as StepOutcome;
    this.announce(out.state, cmdSeq);
    if (out.terminated || out.truncated) await this.endEpisode();
  }

  /** The device's episode is over: start afresh, on the next episode if the device has one. */
  private async endEpisode(): Promise<void> {
    const end = this.driver.endEpisode ? await this.driver.endEpisode() : null;
    if (end?.metrics) this.ports.log(`episode ${end.index} ended (${end.reason ?? 'done'}, ${end.steps} steps): ${JSON.stringify(end.metrics)}`);
    this.episodeStarted = false;
    this.controller?.reset();
    this.lastPolicyStep = null;
    this.guard.reset();
    this.watchdog.expire(Date.now());
    if (!end) return;
    if (end.next === null) {
      this.finished = true;
      await this.driver.hold();
      this.setMode('idle');
      this.ports.log(`finished ${end.episodesDone} episode(s)`);
      return;
    }
    this.setMode('idle');
    this.announce(end.next, undefined);
  }

  private announce(state: Record<string, unknown>, cmdSeq: number | undefined): void {
    this.lastStateSeq = this.ports.publishState(state, cmdSeq);
    this.lastIdlePublishMs = Date.now();
  }

  // ------------------------------------------------------------ local policy

  usesPolicy(): boolean {
    const m = this.options.mode ?? 'auto';
    if (m === 'remote') return false;
    // `policy` never obeys cmd, even before a policy arrives; `auto` does until one is active.
    return m === 'policy' || !!(this.controller || this.pending);
  }

  private async policyStep(): Promise<void> {
    this.policyLoopRunning = true;
    try {
      if (this.pending) this.swapPolicy();
      const ctrl = this.controller;
      if (!ctrl) return;
      const state = parseStateOrNull(this.model, await this.driver.readState());
      // The reward of the previous step, as a rollout gives it (a return-conditioned policy needs it).
      if (state !== null && this.lastPolicyStep && ctrl.observeReward) {
        ctrl.observeReward(this.model.reward(this.lastPolicyStep.state, state, this.lastPolicyStep.setpoint));
      }
      let sp: unknown = null;
      if (state !== null) {
        const action = ctrl.act(this.model.observe(state), ctrl.privileged ? state : undefined);
        // A non-finite action is refused here: toSetpoint would quietly turn NaN into 0.
        const finite = typeof action === 'number' ? Number.isFinite(action) : Array.from(action).every(Number.isFinite);
        if (finite) sp = this.model.toSetpoint(action);
        else this.ports.event({ kind: 'rejected', severity: 'error', detail: 'policy gave a non-finite action: holding' });
      }
      const g = this.guard.filter(sp, state, this.options.controlPeriodS);
      if (state !== null) this.lastPolicyStep = { state, setpoint: g.setpoint };
      for (const e of g.events) if (e.severity !== 'info') this.ports.event(e);
      if (this.estop.engaged) return;
      await this.driver.sendSetpoint(g.setpoint as SetpointWire);
      this.executed.push({ seq: -1, tMs: Date.now(), atMs: Date.now(), setpoint: g.setpoint, source: 'policy' });
      this.trimLog();
      this.setMode('policy');
      this.episodeStarted = true;
      if (this.driver.step) await this.advance(undefined);
    } finally {
      this.policyLoopRunning = false;
    }
  }

  /** The swap itself: one assignment between two control steps. */
  private swapPolicy(): void {
    if (!this.pending) return;
    const old = this.controller;
    this.controller = this.pending.controller;
    this.policyId = this.pending.policyId;
    this.pending = null;
    this.lastPolicyStep = null;
    this.controller.reset();
    if (old && old !== this.controller) old.dispose?.();
    this.ports.event({ kind: 'policy', severity: 'info', detail: `policy ${this.policyId} active` });
    this.ports.publishStatus();
  }

  // ------------------------------------------------------------ bookkeeping

  private setMode(mode: Mode): void {
    if (this.mode === mode) return;
    this.mode = mode;
    this.ports.publishStatus();
  }

  private record(seq: number, tMs: number, source: ExecutedCommand['source']): void {
    this.executed.push({ seq, tMs, atMs: Date.now(), setpoint: {}, source });
    this.trimLog();
  }

  private trimLog(): void {
    if (this.executed.length > 20_000) this.executed.splice(0, 10_000);
  }
}
