import type { MqttClient } from 'mqtt';
import type { Controller } from '../src/core/controller.js';
import type { TaskModel } from '../sim/task.js';
import {
  CHANNEL_QOS,
  DEFAULT_TTL_MS,
  decodeMessage,
  jsonCodec,
  makeEnvelope,
  parseTopic,
  SeqCounter,
  topicFor,
  wildcardTopic,
  type Channel,
  type Codec,
  type Envelope,
  type MessageType,
  type PayloadOf,
  type SetpointWire,
} from './protocol.js';
import { EStopLatch, MessageGate, RejectCounter, SetpointGuard, type GateOptions, type SafetyEvent } from './safety.js';

/**
 * The ground station (`embody bridge`). For every valid `state` from a robot it builds the
 * observation with the task's own TaskModel (the code the simulator uses), runs the policy,
 * passes the setpoint through the bridge-side safety layer, and publishes `cmd` with seq,
 * time and ttl. One process serves many robots: each gets its own controller (controllers
 * may keep history), guard and episode bookkeeping. The operator's one-shot commands are
 * apart: `deploy-sender.ts` (`--deploy`) and `estop-sender.ts` (`--estop`, `--release`).
 */

export interface EpisodeSummary {
  robotId: string;
  index: number;
  return: number;
  length: number;
  reason?: string;
  metrics: Record<string, number>;
}

export interface BridgeOptions {
  client: MqttClient;
  /** Robot ids to serve; an entry may be a glob such as `uav-*`; '*' serves every robot. */
  robots: string[] | '*';
  model: TaskModel<any, any>;
  /** A controller per robot (policies are cheap to instantiate; history stays per robot). */
  makeController: (robotId: string) => Promise<Controller> | Controller;
  policyId: string;
  controlPeriodS: number;
  ttlMs?: number;
  codec?: Codec;
  gate?: GateOptions;
  /** Bridge-side setpoint rate limit (default on); clamping and geofence are always on. */
  rateLimit?: boolean;
  /** Most robots served per glob (default 1024): on an open broker, new ids beyond it are refused and reported. */
  maxRobotsPerGlob?: number;
  onEpisode?: (summary: EpisodeSummary) => void;
  log?: (line: string) => void;
}

interface RobotSlot {
  robotId: string;
  controller: Controller;
  guard: SetpointGuard;
  episode: number;
  prevState: unknown;
  lastSetpoint: SetpointWire | null;
  episodeReturn: number;
  /** The robot's e-stop as this bridge knows it: the same latch rules as the robot's. */
  estop: EStopLatch;
  /** The robot's own word: its latest status said it is e-stopped. */
  robotEstopped: boolean;
  stepsServed: number;
  lastStep: number;
}

export class Bridge {
  readonly rejects = new RejectCounter();
  readonly episodes: EpisodeSummary[] = [];
  readonly events: { robotId: string; event: SafetyEvent }[] = [];
  /** Commands published. */
  cmdsSent = 0;
  /** Messages received on served robots' state/estop topics, and those that passed every check. */
  received = 0;
  accepted = 0;
  /** Handling time of the last 100,000 answered states, ms (decode → cmd published), for the bench. */
  readonly handleMs: number[] = [];
  private readonly slots = new Map<string, Promise<RobotSlot>>();
  private readonly ready = new Map<string, RobotSlot>();
  private readonly gate: MessageGate;
  private readonly seq = new SeqCounter();
  private readonly codec: Codec;
  private readonly ttlMs: number;
  private readonly onMessage: (topic: string, payload: Buffer) => void;
  private closed = false;
  private exact = new Set<string>();
  private globs: RegExp[] = [];
  /** Robots admitted per glob, and the ids refused once the glob was full. */
  private readonly perGlob = new Map<RegExp, number>();
  private readonly admitted = new Set<string>();
  readonly refusedRobots = new Set<string>();

  constructor(private readonly options: BridgeOptions) {
    this.codec = options.codec ?? jsonCodec;
    this.ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
    this.gate = new MessageGate(options.gate);
    this.onMessage = (topic, payload) => {
      void this.handle(topic, payload).catch((err) => this.log(`error on ${topic}: ${(err as Error).message}`));
    };
  }

  async start(): Promise<void> {
    this.options.client.on('message', this.onMessage);
    const chans: Channel[] = ['state', 'estop', 'status', 'events'];
    const { robots } = this.options;
    const exact = robots === '*' ? [] : robots.filter((r) => !r.includes('*'));
    const globs = robots === '*' ? ['*'] : robots.filter((r) => r.includes('*'));
    this.globs = globs.map((g) => new RegExp('^' + g.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[A-Za-z0-9_-]*') + '$'));
    this.exact = new Set(exact);
    // Globs need the wildcard subscription; the ACL still limits what the broker delivers.
    const topics = globs.length ? chans.map((c) => wildcardTopic(c)) : exact.flatMap((r) => chans.map((c) => topicFor(r, c)));
    await this.options.client.subscribeAsync(topics, { qos: 0 });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.options.client.off('message', this.onMessage);
    for (const p of this.slots.values()) (await p).controller.dispose?.();
  }

  /** Does this bridge serve `robotId` (by id or glob)? */
  serves(robotId: string): boolean {
    return this.exact.has(robotId) || this.globs.some((g) => g.test(robotId));
  }

  /**
   * Admit a robot: exact ids always; a glob's ids until it holds maxRobotsPerGlob, so ids
   * made up on an open broker cannot each get a controller.
   */
  private admit(robotId: string): boolean {
    if (this.exact.has(robotId) || this.admitted.has(robotId)) return true;
    const g = this.globs.find((re) => re.test(robotId));
    if (!g) return false;
    const n = this.perGlob.get(g) ?? 0;
    if (n >= (this.options.maxRobotsPerGlob ?? 1024)) {
      if (this.refusedRobots.size < 100_000) this.refusedRobots.add(robotId);
      return false;
    }
    this.perGlob.set(g, n + 1);
    this.admitted.add(robotId);
    return true;
  }

  /** Number of robots seen so far. */
  get robotCount(): number {
    return this.slots.size;
  }

  private slot(robotId: string): Promise<RobotSlot> {
    let p = this.slots.get(robotId);
    if (!p) {
      const { model } = this.options;
      p = Promise.resolve(this.options.makeController(robotId)).then((controller) => ({
        robotId,
        controller,
        guard: new SetpointGuard(model, { horizonS: Math.max(1, this.options.controlPeriodS), rateLimit: this.options.rateLimit !== false }),
        episode: -1,
        prevState: null,
        lastSetpoint: null,
        episodeReturn: 0,
        estop: new EStopLatch(),
        robotEstopped: false,
        stepsServed: 0,
        lastStep: -1,
      }));
      void p.then((slot) => this.ready.set(robotId, slot)).catch(() => {});
      this.slots.set(robotId, p);
    }
    return p;
  }

  private async handle(topic: string, bytes: Buffer): Promise<void> {
    if (this.closed) return;
    const t0 = performance.now();
    const t = parseTopic(topic);
    if (!t) return;
    if (!this.serves(t.robotId)) return;
    if (t.channel === 'events') return; // robots' events are for operators and logs
    this.received++;
    if (!this.admit(t.robotId)) return this.reject(t.robotId, 'capacity', `glob full (${this.options.maxRobotsPerGlob ?? 1024} robots); ${this.refusedRobots.size} id(s) refused`);
    const d = decodeMessage(bytes, { robotId: t.robotId, channel: t.channel });
    if (!d.ok) return this.reject(t.robotId, d.reason, d.detail);
    if (t.channel === 'estop') {
      this.accepted++;
      const slot = this.ready.get(t.robotId) ?? (await this.slot(t.robotId));
      // The same latch as the robot's: a release counts only when newer than the latest engage.
      const ev = slot.estop.apply((d.msg as Envelope<'estop'>).payload, d.msg.tMs);
      if (ev) this.events.push({ robotId: t.robotId, event: ev });
      return;
    }
    if (t.channel === 'status') {
      this.accepted++;
      const st = (d.msg as Envelope<'status'>).payload;
      const slot = this.ready.get(t.robotId) ?? (await this.slot(t.robotId));
      slot.robotEstopped = st.mode === 'estop';
      return;
    }
    const g = this.gate.check(d.msg, 'state');
    if (!g.ok) return this.reject(t.robotId, g.reason, g.detail);
    const msg = d.msg as Envelope<'state'>;
    const { model } = this.options;
    let state: unknown;
    try {
      state = model.parseState ? model.parseState(msg.payload.state) : msg.payload.state;
    } catch (err) {
      return this.reject(t.robotId, 'schema', `state: ${(err as Error).message}`);
    }
    this.accepted++;
    // Synchronous once the robot's slot exists: no other message interleaves with this one.
    const slot = this.ready.get(t.robotId) ?? (await this.slot(t.robotId));
    const ep = msg.payload.episode;
    if (ep && ep.index !== slot.episode) {
      slot.episode = ep.index;
      slot.controller.reset();
      slot.guard.reset();
      slot.prevState = null;
      slot.lastSetpoint = null;
      slot.episodeReturn = 0;
      slot.lastStep = -1;
    }
    // A lockstep device re-announces the state it waits at; count its reward once.
    const repeat = ep !== undefined && ep.step === slot.lastStep && slot.prevState !== null;
    if (!repeat) {
      if (slot.prevState !== null && slot.lastSetpoint) {
        const r = model.reward(slot.prevState, state, slot.lastSetpoint);
        slot.episodeReturn += r;
        // As a rollout does: a return-conditioned policy (the DT) hears each reward before its next act.
        slot.controller.observeReward?.(r);
      }
      slot.prevState = state;
      slot.lastStep = ep?.step ?? -1;
    }
    if (ep && (ep.terminated || ep.truncated)) {
      const summary: EpisodeSummary = {
        robotId: t.robotId,
        index: ep.index,
        return: slot.episodeReturn,
        length: ep.step,
        reason: ep.reason,
        metrics: model.metrics(state),
      };
      this.episodes.push(summary);
      this.options.onEpisode?.(summary);
      slot.lastSetpoint = null;
      return;
    }
    // The robot ignores commands while e-stopped; do not pretend otherwise.
    if (slot.estop.engaged || slot.robotEstopped) return;
    const obs = model.observe(state);
    const action = slot.controller.act(obs, slot.controller.privileged ? state : undefined);
    // A non-finite action becomes null here, which the guard refuses (hold, reported): toSetpoint
    // would quietly turn NaN into 0.
    const finite = typeof action === 'number' ? Number.isFinite(action) : Array.from(action).every(Number.isFinite);
    const sp = finite ? model.toSetpoint(action) : null;
    const res = slot.guard.filter(sp, state, this.options.controlPeriodS) as { setpoint: SetpointWire; events: SafetyEvent[] };
    for (const e of res.events) {
      if (e.severity === 'info') continue;
      this.events.push({ robotId: t.robotId, event: e });
      this.publish(t.robotId, 'events', 'event', { kind: e.kind, severity: e.severity, detail: e.detail });
    }
    slot.lastSetpoint = res.setpoint;
    slot.stepsServed++;
    this.publish(t.robotId, 'cmd', 'cmd', { setpoint: res.setpoint, ttlMs: this.ttlMs, policyId: this.options.policyId, stateSeq: msg.seq });
    this.cmdsSent++;
    this.handleMs.push(performance.now() - t0);
    if (this.handleMs.length > 100_000) this.handleMs.splice(0, 50_000);
  }

  private reject(robotId: string, reason: Parameters<RejectCounter['add']>[0], detail: string): void {
    const report = this.rejects.add(reason, `${robotId}: ${detail}`);
    if (report) this.publish(robotId, 'events', 'event', { kind: 'rejected', severity: 'warn', detail: report.detail, counts: report.counts });
  }

  private publish<T extends MessageType>(robotId: string, channel: Channel, type: T, payload: PayloadOf<T>): void {
    const { qos, retain } = CHANNEL_QOS[channel];
    const bytes = this.codec.encode(makeEnvelope(type, robotId, this.seq.next(), payload));
    this.options.client.publish(topicFor(robotId, channel), bytes, { qos, retain }, () => {});
  }

  private log(line: string): void {
    this.options.log?.(`[bridge] ${line}`);
  }
}
