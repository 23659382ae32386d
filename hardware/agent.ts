import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { MqttClient } from 'mqtt';
import type { Controller } from '../src/core/controller.js';
import { replaceDirAtomic, writeJsonAtomic } from '../src/experiment/atomic.js';
import type { TaskModel } from '../sim/task.js';
import type { Driver, StepOutcome } from './devices/driver.js';
import {
  CHANNEL_QOS,
  DEFAULT_TTL_MS,
  decodeMessage,
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
import { EStopLatch, MessageGate, RejectCounter, SetpointGuard, Watchdog, type GateOptions, type SafetyEvent } from './safety.js';

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
  files: Map<string, { size: number; sha256: string; chunks: number; parts: (Buffer | undefined)[] }>;
}

const MAX_DEPLOY_BYTES = 64 * 1024 * 1024;

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
    this.guard = new SetpointGuard(
      this.model.limits,
      (s) => this.model.holdSetpoint(this.parse(s)) as SetpointWire,
      Math.max(1, options.controlPeriodS),
      { rateLimit: options.rateLimit !== false },
    );
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
      const bytes = this.codec.encode(makeEnvelope('status', this.robotId, this.seq.next(), { online: false, mode: this.estop.engaged ? 'estop' : 'stopped', policyId: this.policyId }));
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
      if (!d.ok) return this.reject(d.reason, d.detail);
      const msg = d.msg;
      if (t.channel === 'estop') {
        this.accepted++;
        // The latch flips now, not when the queue reaches it: the control loop checks it
        // before every step, so nothing moves under a new e-stop.
        const ev = this.estop.apply((msg as Envelope<'estop'>).payload, msg.tMs);
        if (ev) this.enqueue(() => this.onEstop(msg as Envelope<'estop'>, ev));
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
      this.setMode('estop');
      await this.driver.stop();
      this.record(msg.seq, msg.tMs, 'estop');
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
    const state = await this.driver.readState();
    const g = this.guard.filter(p.setpoint, state, this.options.controlPeriodS);
    for (const e of g.events) if (e.severity !== 'info') this.event(e);
    await this.driver.sendSetpoint(g.setpoint);
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
      const raw = await this.driver.readState();
      const state = this.parse(raw);
      // The reward of the previous step, as a rollout gives it (a return-conditioned policy needs it).
      if (this.lastPolicyStep && ctrl.observeReward) ctrl.observeReward(this.model.reward(this.lastPolicyStep.state, state, this.lastPolicyStep.setpoint));
      const obs = this.model.observe(state);
      const action = ctrl.act(obs, ctrl.privileged ? state : undefined);
      const sp = this.model.toSetpoint(action) as SetpointWire;
      const g = this.guard.filter(sp, raw, this.options.controlPeriodS);
      this.lastPolicyStep = { state, setpoint: g.setpoint };
      for (const e of g.events) if (e.severity !== 'info') this.event(e);
      await this.driver.sendSetpoint(g.setpoint);
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
      const total = p.files.reduce((n, f) => n + f.size, 0);
      if (total > MAX_DEPLOY_BYTES) return this.ack(p.deployId, 'rejected', { reason: `deployment of ${total} bytes exceeds ${MAX_DEPLOY_BYTES}` });
      this.deployment = {
        deployId: p.deployId,
        policyId: p.policyId,
        files: new Map(p.files.map((f) => [f.name, { size: f.size, sha256: f.sha256, chunks: f.chunks, parts: new Array(f.chunks) }])),
      };
      return this.ack(p.deployId, 'ready', { policyId: p.policyId });
    }
    if (msg.type === 'policy.chunk') {
      const p = msg.payload as PayloadOf<'policy.chunk'>;
      const d = this.deployment;
      if (!d || d.deployId !== p.deployId) return this.rejectLate('schema', `chunk for unknown deployment ${p.deployId}`);
      const f = d.files.get(p.file);
      if (!f || p.index >= f.chunks) return this.rejectLate('schema', `chunk ${p.file}:${p.index} not in deployment ${p.deployId}`);
      f.parts[p.index] = typeof p.data === 'string' ? Buffer.from(p.data, 'base64') : Buffer.from(p.data);
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
        if (data.length !== f.size) throw new Error(`${name}: ${data.length} bytes, expected ${f.size}`);
        const sha = createHash('sha256').update(data).digest('hex');
        if (sha !== f.sha256) throw new Error(`${name}: sha256 ${sha.slice(0, 12)}… does not match ${f.sha256.slice(0, 12)}…`);
        writeFileSync(path.join(staging, name), data);
      }
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
      const reason = (err as Error).message.slice(0, 1000);
      this.event({ kind: 'policy', severity: 'error', detail: `deployment ${d.deployId} rejected, keeping ${this.policyId ?? 'no policy'}: ${reason}` });
      this.ack(d.deployId, 'rejected', { reason });
    } finally {
      rmSync(staging, { recursive: true, force: true });
      this.deployment = null;
    }
  }

  /**
   * Load a policy directory for this robot's task (the loader refuses other tasks and shapes) and
   * run it once: on a neutral observation, or on the current state for a controller that needs
   * the state (the navigation composite reads its goals from it). It must give a valid action.
   */
  private async checkPolicy(dir: string): Promise<LoadedPolicy> {
    const spec = { id: this.model.id, observationSpace: this.model.observationSpace, actionSpace: this.model.actionSpace, controlPeriod: this.options.controlPeriodS };
    const loaded = await this.loader(dir, { spec, context: { seed: 0, model: this.model } });
    if (loaded.taskId && loaded.taskId !== this.model.id) throw new Error(`policy is for task ${loaded.taskId}, this robot runs ${this.model.id}`);
    loaded.controller.reset();
    let a;
    if (loaded.controller.privileged) {
      const state = this.parse(await this.driver.readState());
      a = loaded.controller.act(this.model.observe(state), state);
    } else a = loaded.controller.act(new Float32Array(this.model.observationSpace.size));
    const space = this.model.actionSpace;
    if (space.kind === 'box') {
      if (typeof a === 'number' || a.length !== space.size || !Array.from(a).every(Number.isFinite)) {
        throw new Error(`policy gives an invalid action for ${space.size} dims`);
      }
    } else if (typeof a !== 'number' || !Number.isInteger(a) || a < 0 || a >= space.n) {
      throw new Error(`policy gives an invalid discrete action ${String(a)}`);
    }
    const sp = this.model.toSetpoint(a) as SetpointWire;
    if (!Object.values(sp).every((v) => typeof v !== 'number' || Number.isFinite(v))) throw new Error('policy action maps to a non-finite setpoint');
    loaded.controller.reset();
    return loaded;
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

/** The `status` last will: published by the broker if the robot drops off. */
export function offlineWill(robotId: string, codec: Codec = jsonCodec) {
  // Stamped at connect time; status is retained, so receivers check its schema, not its age.
  const now = Date.now();
  const payload = codec.encode(makeEnvelope('status', robotId, now, { online: false, mode: 'stopped', policyId: null }, now));
  return { topic: topicFor(robotId, 'status'), payload, qos: 1 as const, retain: true };
}
