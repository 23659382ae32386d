import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { MqttClient } from 'mqtt';
import type { Controller } from '../src/core/controller.js';
import { replaceDirAtomic, writeJsonAtomic } from '../src/core/atomic.js';
import type { TaskModel } from '../sim/task.js';
import type { Driver, StepOutcome } from './devices/driver.js';
import {
  CHANNEL_QOS,
  checkDeployBegin,
  DEPLOY_LIMITS,
  decodeMessage,
  policyBeginPayload,
  sniffCodec,
  jsonCodec,
  makeEnvelope,
  parseTopic,
  SeqCounter,
  topicFor,
  type Channel,
  type Codec,
  type Envelope,
  type MessageType,
  type PayloadOf,
  type SetpointWire,
} from './protocol.js';
import { EStopLatch, MessageGate, parseStateOrNull, RejectCounter, SetpointGuard, Watchdog, type GateOptions, type SafetyEvent } from './safety.js';

/**
 * The on-robot runtime (`embody agent`, and `embody sim-device` with the sim driver).
 *
 * - remote mode: executes `cmd` from a ground station, behind the robot-side safety layer
 *   (gate, clamp/rate/geofence, watchdog, e-stop).
 * - policy mode: runs a deployed policy locally, one inference per control step.
 * - Deployments arrive on `policy` in chunks, are checked by sha256 and by loading and
 *   running the policy once, are persisted atomically, and are swapped in only between two
 *   control steps. A deployment that fails any check leaves the old policy in charge.
 * - The e-stop latch and the active policy live in `dataDir`, so a restart resumes both.
 */

export type Mode = 'idle' | 'remote' | 'policy' | 'hold' | 'landing' | 'stopped' | 'estop';

export interface LoadedPolicy {
  controller: Controller;
  /** Task id the policy was trained on, checked against the model's. */
  taskId?: string;
}

/** What the agent loads a policy for: this robot's task (its id and spaces) and model. */
export type PolicyLoader = (dir: string, target: import('../controllers/policy/load-policy.js').LoadPolicyOptions) => Promise<LoadedPolicy>;

/**
 * The one policy loader (controllers/policy/load-policy.ts): it checks every file's sha256, and
 * refuses a policy whose task or observation/action shapes differ from this robot's task.
 */
export const loadPolicyArtifact: PolicyLoader = async (dir, target) => {
  const { loadPolicy } = await import('../controllers/policy/load-policy.js');
  const { controller, manifest } = await loadPolicy(dir, target);
  return { controller, taskId: manifest.taskId };
};

export interface AgentOptions {
  client: MqttClient;
  robotId: string;
  driver: Driver;
  model: TaskModel<any, any>;
  /** Seconds per control step. */
  controlPeriodS: number;
  /** Where the policy and the e-stop latch persist; none = memory only. */
  dataDir?: string;
  /** `auto`: run the local policy when one is active, else obey `cmd`. */
  mode?: 'auto' | 'policy' | 'remote';
  codec?: Codec;
  /** Hold this long before landing/stopping, ms (default 3000). */
  landAfterMs?: number;
  gate?: GateOptions;
  /** Robot-side setpoint rate limit (default on). Geofence and clamping are always on. */
  rateLimit?: boolean;
  /** Policy mode pacing: `realtime` (one step per control period) or `fast` (back to back, simulation only). */
  pace?: 'realtime' | 'fast';
  /** Lockstep devices while holding/landing/e-stopped: `frozen` (default) or `realtime`. */
  holdClock?: 'frozen' | 'realtime';
  /** Simulated devices: stop after this many episodes (default: run forever). */
  episodes?: number;
  loadPolicy?: PolicyLoader;
  log?: (line: string) => void;
}

export interface ExecutedCommand {
  seq: number;
  tMs: number;
  atMs: number;
  setpoint: SetpointWire;
  source: 'cmd' | 'policy' | 'hold' | 'land' | 'estop';
}

interface Deployment {
  deployId: string;
  policyId: string;
  files: Map<string, { size: number; sha256: string; chunks: number; received: number; parts: (Buffer | undefined)[] }>;
}

/** A deployment refused for a reason we may tell the sender (it names nothing of the host). */
class DeployRefusal extends Error {}

/** Observations a new policy must answer with finite actions: zeros, ±1, and seeded noise (a NaN weight hides behind a zero input). */
function probeObservations(size: number, extra: Float32Array | null): Float32Array[] {
  const probes: Float32Array[] = [new Float32Array(size), new Float32Array(size).fill(1), new Float32Array(size).fill(-1)];
  let seed = 0x9e3779b9;
  for (let k = 0; k < 8; k++) {
    const o = new Float32Array(size);
    for (let i = 0; i < size; i++) {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      o[i] = (seed / 2 ** 32) * 2 - 1;
    }
    probes.push(o);
  }
  if (extra) probes.push(extra);
  return probes;
}

/** An error message with the host's paths taken out, fit for an ack. */
function redactPaths(message: string, dir: string): string {
  // An absolute path starts a word ("/etc/x", "C:\\x"); "embody.policy/2" is not one.
  return message
    .split(dir)
    .join('<policy>')
    .replace(/(^|[\s'"`(=])(?:[A-Za-z]:)?[\\/][^\s'"`:,;()]+/g, '$1<path>')
    .slice(0, 1000);
}

export class RobotAgent {
  readonly robotId: string;
  readonly rejects = new RejectCounter();
  /** Last 20,000 setpoints given to the driver, for tests and post-mortems. */
  readonly executed: ExecutedCommand[] = [];
  readonly events: SafetyEvent[] = [];
  mode: Mode = 'idle';
  /** Messages received on our topics, and those that passed every check. */
  received = 0;
  accepted = 0;
  policyId: string | null = null;
  episodesDone = 0;

  private readonly client: MqttClient;
  private readonly driver: Driver;
  private readonly model: TaskModel<any, any>;
  private readonly codec: Codec;
  private readonly seq = new SeqCounter();
  private readonly cmdGate: MessageGate;
  private readonly policyGate: MessageGate;
  private readonly watchdog: Watchdog;
  private readonly estop: EStopLatch;
  private readonly guard: SetpointGuard;
  private readonly periodMs: number;
  private readonly maxAgeMs: number;
  private readonly loader: PolicyLoader;
  private readonly dataDir: string;
  private readonly persistent: boolean;
  private controller: Controller | null = null;
  private pending: { controller: Controller; policyId: string } | null = null;
  /** The last policy step's state and setpoint, for the reward the controller hears (the DT's return-to-go). */
  private lastPolicyStep: { state: unknown; setpoint: SetpointWire } | null = null;
  private deployment: Deployment | null = null;
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private lastStateSeq = -1;
  private lastAutoStepMs = 0;
  private lastIdlePublishMs = 0;
  private episodeStarted = false;
  private finished = false;
  private closed = false;
  private policyLoopRunning = false;
  private tickQueued = false;
  private readonly onMessage: (topic: string, payload: Buffer) => void;
  private readonly onConnect: () => void;

  constructor(private readonly options: AgentOptions) {
    this.robotId = options.robotId;
    this.client = options.client;
    this.driver = options.driver;
    this.model = options.model;
    this.codec = options.codec ?? jsonCodec;
    this.cmdGate = new MessageGate(options.gate);
    this.maxAgeMs = options.gate?.maxAgeMs ?? 500;
    // Deployments travel at QoS 1 and may be retried; only ordering matters for them.
    this.policyGate = new MessageGate({ maxAgeMs: 120_000, maxFutureMs: 120_000 });
    this.watchdog = new Watchdog(options.landAfterMs ?? 3000);
    this.periodMs = options.controlPeriodS * 1000;
    this.loader = options.loadPolicy ?? loadPolicyArtifact;
    this.persistent = !!options.dataDir;
    this.dataDir = options.dataDir ?? path.join(tmpdir(), `embody-agent-${options.robotId}-${process.pid}-${Date.now()}`);
    mkdirSync(this.dataDir, { recursive: true });
    this.estop = new EStopLatch(this.persistent ? path.join(this.dataDir, 'estop.json') : undefined);
    this.guard = new SetpointGuard(this.model, { horizonS: Math.max(1, options.controlPeriodS), rateLimit: options.rateLimit !== false });
    this.onMessage = (topic, payload) => this.handleMessage(topic, payload);
    this.onConnect = () => this.publishStatus();
  }

  /** Resume the persisted policy, subscribe, announce, and start the clock. */
  async start(): Promise<void> {
    const dir = this.policyDir();
    // Any artifact format the policy loader reads (embody.policy/2 manifest, or an older dt.json / agent.json).
    if (['manifest.json', 'dt.json', 'agent.json'].some((f) => existsSync(path.join(dir, f)))) {
      try {
        const loaded = await this.checkPolicy(dir);
        this.controller = loaded.controller;
        this.policyId = this.readPolicyMeta()?.policyId ?? 'persisted';
        this.log(`resumed policy ${this.policyId} from ${dir}`);
      } catch (err) {
        this.event({ kind: 'policy', severity: 'error', detail: `persisted policy failed its check, none active: ${(err as Error).message}` });
      }
    }
    if (this.estop.engaged) this.mode = 'estop';
    this.client.on('message', this.onMessage);
    this.client.on('connect', this.onConnect);
    const topics = (['cmd', 'policy', 'estop'] as Channel[]).map((c) => topicFor(this.robotId, c));
    await this.client.subscribeAsync(topics, { qos: 1 });
    this.publishStatus();
    this.episodeStarted = false;
    this.watchdog.expire(Date.now());
    if (this.estop.engaged) await this.driver.stop();
    this.publishState(await this.driver.readState(), undefined);
    // One tick in the queue at most: a slow step must not pile ticks up in front of messages.
    this.timer = setInterval(() => {
      if (this.tickQueued) return;
      this.tickQueued = true;
      this.enqueue(() => {
        this.tickQueued = false;
        return this.tick();
      });
    }, 10);
  }

  /** Stop: hold the device, announce offline (retained), and detach from the client. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.client.off('message', this.onMessage);
    this.client.off('connect', this.onConnect);
    await this.chain.catch(() => {});
    await Promise.resolve(this.estop.engaged ? undefined : this.driver.hold()).catch(() => {});
    if (this.client.connected) {
      const bytes = this.codec.encode(makeEnvelope('status', this.robotId, this.seq.next(), { online: false, mode: this.estop.engaged ? 'estop' : 'stopped', policyId: this.policyId, driver: this.driver.name }));
      await Promise.race([this.client.publishAsync(topicFor(this.robotId, 'status'), bytes, { qos: 1, retain: true }).catch(() => {}), new Promise((r) => setTimeout(r, 1000))]);
    }
    if (!this.persistent) rmSync(this.dataDir, { recursive: true, force: true });
  }

  get estopEngaged(): boolean {
    return this.estop.engaged;
  }

  get rejectCounts(): Record<string, number> {
    return { ...this.rejects.counts };
  }

  // ------------------------------------------------------------ incoming

  private handleMessage(topic: string, bytes: Buffer): void {
    try {
      const t = parseTopic(topic);
      if (!t || t.robotId !== this.robotId) return;
      this.received++;
      const d = decodeMessage(bytes, { robotId: this.robotId, channel: t.channel });
      if (!d.ok) {
        if (t.channel === 'policy') this.refuseMalformedPolicy(bytes, d.detail);
        return this.reject(d.reason, d.detail);
      }
      const msg = d.msg;
      if (t.channel === 'estop') {
        this.accepted++;
        // The latch flips now, and the driver is told now, not when the queue reaches it: an
        // e-stop never waits behind a command or a deployment.
        const ev = this.estop.apply((msg as Envelope<'estop'>).payload, msg.tMs);
        if (ev?.kind === 'estop' && this.estop.engaged && this.mode !== 'estop') {
          this.setMode('estop');
          void Promise.resolve(this.driver.stop()).catch(() => {});
          this.record(msg.seq, msg.tMs, 'estop');
        }
        if (ev) this.enqueue(() => this.onEstop(msg as Envelope<'estop'>, ev));
        // Every e-stop message gets a fresh status, so whoever sent it sees what happened.
        this.publishStatus();
        return;
      }
      if (t.channel === 'cmd') {
        const g = this.cmdGate.check(msg, 'cmd');
        if (!g.ok) return this.reject(g.reason, g.detail);
        this.accepted++;
        return this.enqueue(() => this.onCmd(msg as Envelope<'cmd'>, Date.now()));
      }
      if (t.channel === 'policy') {
        const g = this.policyGate.check(msg, 'policy');
        if (!g.ok) return this.reject(g.reason, g.detail);
        this.accepted++;
        return this.enqueue(() => this.onPolicy(msg));
      }
    } catch (err) {
      // Never let one message take the robot down.
      this.event({ kind: 'rejected', severity: 'error', detail: `internal error handling ${topic}: ${(err as Error).message}` });
    }
  }

  private enqueue(fn: () => Promise<void> | void): void {
    this.chain = this.chain.then(fn).catch((err) => {
      this.event({ kind: 'rejected', severity: 'error', detail: `agent error: ${(err as Error).message}` });
    });
  }

  private reject(reason: Parameters<RejectCounter['add']>[0], detail: string): void {
    const report = this.rejects.add(reason, detail);
    if (report) this.publish('events', 'event', { kind: 'rejected', severity: 'warn', detail: report.detail, counts: report.counts });
  }

  /** A message that passed the gate but fails a check that needs the robot's state. */
  private rejectLate(reason: Parameters<RejectCounter['add']>[0], detail: string): void {
    this.accepted--;
    this.reject(reason, detail);
  }

  private async onEstop(msg: Envelope<'estop'>, ev: SafetyEvent): Promise<void> {
    this.event(ev);
    if (ev.kind === 'estop') {
      // Engaged: already stopped in handleMessage. A refused release changes nothing.
      return;
    } else {
      // Released: hold until a fresh command (or the local policy's next step).
      this.watchdog.expire(Date.now());
      await this.driver.hold();
      this.record(msg.seq, msg.tMs, 'hold');
      this.setMode('hold');
    }
  }

  private async onCmd(msg: Envelope<'cmd'>, receivedMs: number): Promise<void> {
    if (this.estop.engaged || this.finished) return;
    if (this.usesPolicy()) return;
    const p = msg.payload;
    // A lockstep device only acts on a command that answers the state it last published.
    if (this.driver.step && p.stateSeq !== undefined && p.stateSeq < this.lastStateSeq) {
      return this.rejectLate('stale', `cmd seq ${msg.seq} answers state ${p.stateSeq}, latest is ${this.lastStateSeq}`);
    }
    // Age again at execution: a command that waited in our own queue is just as stale, and one
    // whose own ttl has run out is over.
    const now = Date.now();
    const age = now - msg.tMs;
    if (age > Math.min(this.maxAgeMs, p.ttlMs)) return this.rejectLate('stale', `cmd seq ${msg.seq} is ${Math.round(age)} ms old at execution (ttl ${p.ttlMs})`);
    // It lives until tMs + ttl by the sender's clock, or receipt + ttl if that is sooner.
    this.watchdog.feed(p.ttlMs, Math.min(receivedMs, msg.tMs));
    const state = parseStateOrNull(this.model, await this.driver.readState());
    const g = this.guard.filter(p.setpoint, state, this.options.controlPeriodS);
    for (const e of g.events) if (e.severity !== 'info') this.event(e);
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

  private async tick(): Promise<void> {
    if (this.closed) return;
    const now = Date.now();
    const report = this.rejects.due(now);
    if (report) this.publish('events', 'event', { kind: 'rejected', severity: 'warn', detail: report.detail, counts: report.counts });
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
        while (performance.now() < until && this.usesPolicy() && !this.estop.engaged && !this.finished && !this.closed) await this.policyStep();
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
      if (now - this.lastIdlePublishMs >= 1000) this.publishState(await this.driver.readState(), undefined);
      return;
    }
    if (wd === 'hold' && this.mode !== 'hold') {
      await this.driver.hold();
      this.record(-1, now, 'hold');
      this.event({ kind: 'watchdog-hold', severity: 'warn', detail: `no valid cmd within its ttl: holding` });
      this.setMode('hold');
    } else if (wd === 'land' && this.mode !== 'landing') {
      await this.driver.stop();
      this.record(-1, now, 'land');
      this.event({ kind: 'watchdog-land', severity: 'error', detail: `holding for ${this.options.landAfterMs ?? 3000} ms without a cmd: landing` });
      this.setMode('landing');
    }
    if (this.driver.step && this.options.holdClock !== 'realtime') {
      // Frozen lockstep device: re-announce the state it waits at, so a ground station that
      // lost it (broker restart) can answer it and resume.
      if (now - this.lastIdlePublishMs >= Math.max(this.periodMs, 100)) this.publishState(await this.driver.readState(), undefined);
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
    this.publishState(out.state, cmdSeq);
    if (out.terminated || out.truncated) await this.endEpisode();
  }

  private async endEpisode(): Promise<void> {
    this.episodesDone++;
    try {
      const info = this.driver.episodeInfo?.();
      const m = this.model.metrics(this.parse(await this.driver.readState()));
      this.log(`episode ${this.episodesDone - 1} ended (${info?.reason ?? 'done'}, ${info?.step ?? '?'} steps): ${JSON.stringify(m)}`);
    } catch {
      // metrics are for the log only
    }
    this.episodeStarted = false;
    this.controller?.reset();
    this.lastPolicyStep = null;
    this.guard.reset();
    this.watchdog.expire(Date.now());
    if (this.options.episodes !== undefined && this.episodesDone >= this.options.episodes) {
      this.finished = true;
      await this.driver.hold();
      this.setMode('idle');
      this.log(`finished ${this.episodesDone} episode(s)`);
      return;
    }
    if (this.driver.nextEpisode) {
      const s = await this.driver.nextEpisode();
      this.setMode('idle');
      this.publishState(s, undefined);
    }
  }

  // ------------------------------------------------------------ local policy

  private usesPolicy(): boolean {
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
        else this.event({ kind: 'rejected', severity: 'error', detail: 'policy gave a non-finite action: holding' });
      }
      const g = this.guard.filter(sp, state, this.options.controlPeriodS);
      if (state !== null) this.lastPolicyStep = { state, setpoint: g.setpoint };
      for (const e of g.events) if (e.severity !== 'info') this.event(e);
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
    this.event({ kind: 'policy', severity: 'info', detail: `policy ${this.policyId} active` });
    this.publishStatus();
  }

  // ------------------------------------------------------------ deployment

  private async onPolicy(msg: Envelope): Promise<void> {
    if (msg.type === 'policy.begin') {
      const p = msg.payload as PayloadOf<'policy.begin'>;
      const why = checkDeployBegin(p);
      if (why) {
        this.event({ kind: 'policy', severity: 'warn', detail: `deployment ${p.deployId} refused: ${why}` });
        return this.ack(p.deployId, 'rejected', { reason: why });
      }
      this.deployment = {
        deployId: p.deployId,
        policyId: p.policyId,
        files: new Map(p.files.map((f) => [f.name, { size: f.size, sha256: f.sha256, chunks: f.chunks, received: 0, parts: new Array(f.chunks) }])),
      };
      return this.ack(p.deployId, 'ready', { policyId: p.policyId });
    }
    if (msg.type === 'policy.chunk') {
      const p = msg.payload as PayloadOf<'policy.chunk'>;
      const d = this.deployment;
      if (!d || d.deployId !== p.deployId) return this.rejectLate('schema', `chunk for unknown deployment ${p.deployId}`);
      const f = d.files.get(p.file);
      if (!f || p.index >= f.chunks) return this.rejectLate('schema', `chunk ${p.file}:${p.index} not in deployment ${p.deployId}`);
      const data = typeof p.data === 'string' ? Buffer.from(p.data, 'base64') : Buffer.from(p.data);
      const received = f.received - (f.parts[p.index]?.length ?? 0) + data.length;
      // The bytes held never exceed what begin declared: a sender cannot grow our memory.
      if (data.length === 0 || data.length > DEPLOY_LIMITS.maxChunkBytes || received > f.size) {
        this.deployment = null;
        const reason = `file ${p.file}: chunk ${p.index} of ${data.length} bytes takes it past its declared ${f.size} bytes (or the ${DEPLOY_LIMITS.maxChunkBytes}-byte chunk limit)`;
        this.event({ kind: 'policy', severity: 'warn', detail: `deployment ${d.deployId} refused: ${reason}` });
        return this.ack(d.deployId, 'rejected', { reason });
      }
      f.parts[p.index] = data;
      f.received = received;
      return;
    }
    if (msg.type === 'policy.commit') {
      const p = msg.payload as PayloadOf<'policy.commit'>;
      const d = this.deployment;
      if (!d || d.deployId !== p.deployId) return this.ack(p.deployId, 'rejected', { reason: 'unknown deployment' });
      const missing: string[] = [];
      for (const [name, f] of d.files) for (let i = 0; i < f.chunks; i++) if (!f.parts[i]) missing.push(`${name}:${i}`);
      if (missing.length) return this.ack(d.deployId, 'missing', { missing: missing.slice(0, 4096) });
      await this.install(d);
    }
  }

  private async install(d: Deployment): Promise<void> {
    const staging = path.join(this.dataDir, `staging-${d.deployId}`);
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    try {
      for (const [name, f] of d.files) {
        const data = Buffer.concat(f.parts as Buffer[]);
        if (data.length !== f.size) throw new DeployRefusal(`${name}: ${data.length} bytes, expected ${f.size}`);
        // The sender knows the hash it declared; we do not tell it the one we computed.
        if (createHash('sha256').update(data).digest('hex') !== f.sha256) throw new DeployRefusal(`${name}: sha256 does not match the declared one`);
        writeFileSync(path.join(staging, name), data);
        // Let an e-stop (or anything else waiting) in between two files.
        await new Promise((r) => setImmediate(r));
      }
      checkManifestFiles(path.join(staging, 'manifest.json'), [...d.files.keys()]);
      const loaded = await this.checkPolicy(staging);
      // Persist first, then swap: a crash in between resumes the new policy, never half of one.
      await replaceDirAtomic(this.policyDir(), (tmp) => {
        for (const name of readdirSync(staging)) writeFileSync(path.join(tmp, name), readFileSync(path.join(staging, name)));
      });
      writeJsonAtomic(path.join(this.dataDir, 'policy.json'), { policyId: d.policyId, deployId: d.deployId, installedAt: new Date().toISOString() });
      this.pending = { controller: loaded.controller, policyId: d.policyId };
      this.ack(d.deployId, 'activated', { policyId: d.policyId });
      this.log(`policy ${d.policyId} installed; active from the next control step`);
    } catch (err) {
      const msg = (err as Error).message;
      // Our own refusals are written for the sender; a loader's error may name host paths.
      const reason = err instanceof DeployRefusal ? msg.slice(0, 1000) : `policy does not load: ${redactPaths(msg, staging)}`;
      this.event({ kind: 'policy', severity: 'error', detail: `deployment ${d.deployId} rejected, keeping ${this.policyId ?? 'no policy'}: ${reason}` });
      this.ack(d.deployId, 'rejected', { reason });
    } finally {
      rmSync(staging, { recursive: true, force: true });
      this.deployment = null;
    }
  }

  /**
   * Load a policy directory for this robot's task (the loader refuses other tasks and shapes) and
   * run it on probe observations (zeros, ±1, seeded noise, and the robot's own observation now):
   * every action must be valid and finite, and map to a setpoint the task accepts.
   */
  private async checkPolicy(dir: string): Promise<LoadedPolicy> {
    const spec = { id: this.model.id, observationSpace: this.model.observationSpace, actionSpace: this.model.actionSpace, controlPeriod: this.options.controlPeriodS };
    const loaded = await this.loader(dir, { spec, context: { seed: 0, model: this.model } });
    if (loaded.taskId && loaded.taskId !== this.model.id) throw new DeployRefusal(`policy is for task ${loaded.taskId}, this robot runs ${this.model.id}`);
    const space = this.model.actionSpace;
    const state = parseStateOrNull(this.model, await this.driver.readState());
    // A controller that reads the state (the navigation composite) is probed on the robot's own
    // observation and state only: a made-up observation would contradict the state it reads.
    if (loaded.controller.privileged && state === null) throw new DeployRefusal("policy needs the robot's state, and the robot's telemetry does not parse");
    const own = state !== null ? this.model.observe(state) : null;
    const probes = loaded.controller.privileged ? [own!] : probeObservations(this.model.observationSpace.size, own);
    for (const [k, obs] of probes.entries()) {
      loaded.controller.reset();
      const a = loaded.controller.act(obs, loaded.controller.privileged ? state : undefined);
      if (space.kind === 'box') {
        if (typeof a === 'number' || a.length !== space.size || !Array.from(a).every(Number.isFinite)) {
          throw new DeployRefusal(`policy gives an invalid or non-finite action (${space.size} dims expected) on probe observation ${k}`);
        }
      } else if (typeof a !== 'number' || !Number.isInteger(a) || a < 0 || a >= space.n) {
        throw new DeployRefusal(`policy gives an invalid discrete action on probe observation ${k}`);
      }
      try {
        this.model.parseSetpoint(this.model.toSetpoint(a));
      } catch (err) {
        throw new DeployRefusal(`policy action on probe observation ${k} maps to a refused setpoint: ${(err as Error).message}`);
      }
    }
    loaded.controller.reset();
    return loaded;
  }

  /** A `policy` message that fails its schema still gets an ack, when it names a deployment. */
  private refuseMalformedPolicy(bytes: Buffer, detail: string): void {
    try {
      const raw = sniffCodec(bytes)?.decode(bytes) as { type?: unknown; payload?: { deployId?: unknown } } | undefined;
      const id = raw?.payload?.deployId;
      if (typeof id !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(id)) return;
      if (this.deployment?.deployId === id) this.deployment = null;
      this.ack(id, 'rejected', { reason: `malformed ${String(raw?.type).slice(0, 32)}: ${detail}`.slice(0, 1000) });
    } catch {
      // not even an envelope: counted as rejected, nothing to ack
    }
  }

  private policyDir(): string {
    return path.join(this.dataDir, 'policy');
  }

  private readPolicyMeta(): { policyId: string } | null {
    try {
      return JSON.parse(readFileSync(path.join(this.dataDir, 'policy.json'), 'utf8'));
    } catch {
      return null;
    }
  }

  private ack(deployId: string, status: PayloadOf<'policy.ack'>['status'], extra: Partial<PayloadOf<'policy.ack'>> = {}): void {
    this.publish('policy/ack', 'policy.ack', { deployId, status, ...extra });
  }

  // ------------------------------------------------------------ outgoing

  private publishState(state: Record<string, unknown>, cmdSeq: number | undefined): void {
    const seq = this.seq.next();
    this.lastStateSeq = seq;
    this.lastIdlePublishMs = Date.now();
    const episode = this.driver.episodeInfo?.();
    this.publish('state', 'state', { state, ...(cmdSeq !== undefined ? { cmdSeq } : {}), ...(episode ? { episode } : {}) }, seq);
  }

  private publishStatus(): void {
    if (this.closed) return;
    this.publish('status', 'status', { online: true, mode: this.mode, policyId: this.policyId, driver: this.driver.name });
  }

  private publish<T extends MessageType>(channel: Channel, type: T, payload: PayloadOf<T>, seq = this.seq.next()): void {
    if (this.closed && channel !== 'status') return;
    const { qos, retain } = CHANNEL_QOS[channel];
    const bytes = this.codec.encode(makeEnvelope(type, this.robotId, seq, payload));
    this.client.publish(topicFor(this.robotId, channel), bytes, { qos, retain }, () => {});
  }

  private event(e: SafetyEvent): void {
    this.events.push(e);
    if (this.events.length > 2000) this.events.splice(0, 1000);
    this.log(`${e.severity}: ${e.kind}: ${e.detail}`);
    this.publish('events', 'event', { kind: e.kind, severity: e.severity, detail: e.detail.slice(0, 1024) });
  }

  private setMode(mode: Mode): void {
    if (this.mode === mode) return;
    this.mode = mode;
    this.publishStatus();
  }

  private record(seq: number, tMs: number, source: ExecutedCommand['source']): void {
    this.executed.push({ seq, tMs, atMs: Date.now(), setpoint: {}, source });
    this.trimLog();
  }

  private trimLog(): void {
    if (this.executed.length > 20_000) this.executed.splice(0, 10_000);
  }

  private parse(raw: unknown): any {
    return this.model.parseState ? this.model.parseState(raw) : raw;
  }

  private log(line: string): void {
    this.options.log?.(`[agent ${this.robotId}] ${line}`);
  }
}

/**
 * The manifest's file list must be exactly the files transferred (manifest.json aside), each a
 * plain name: a manifest can then never make the loader read a file from elsewhere.
 */
export function checkManifestFiles(manifestFile: string, transferred: string[]): void {
  let m: { files?: unknown };
  try {
    m = JSON.parse(readFileSync(manifestFile, 'utf8'));
  } catch {
    throw new DeployRefusal('manifest.json is not JSON');
  }
  const f = m?.files;
  const listed = Array.isArray(f) ? f.map((x) => (typeof x === 'string' ? x : (x as { name?: unknown })?.name)) : f && typeof f === 'object' ? Object.keys(f) : null;
  if (!listed) throw new DeployRefusal('manifest.json has no files list');
  const plain = policyBeginPayload.shape.files.element.shape.name;
  for (const name of listed) if (typeof name !== 'string' || !plain.safeParse(name).success) throw new DeployRefusal('manifest.json lists a file that is not a plain file name');
  const want = new Set(transferred.filter((n) => n !== 'manifest.json'));
  const got = new Set(listed as string[]);
  if (want.size !== got.size || [...want].some((n) => !got.has(n))) {
    throw new DeployRefusal(`manifest.json lists files [${[...got].sort().join(', ')}] but the deployment holds [${[...want].sort().join(', ')}]`.slice(0, 1000));
  }
}

/** The `status` last will: published by the broker if the robot drops off. */
export function offlineWill(robotId: string, codec: Codec = jsonCodec) {
  // Stamped at connect time; status is retained, so receivers check its schema, not its age.
  const now = Date.now();
  const payload = codec.encode(makeEnvelope('status', robotId, now, { online: false, mode: 'stopped', policyId: null }, now));
  return { topic: topicFor(robotId, 'status'), payload, qos: 1 as const, retain: true };
}
