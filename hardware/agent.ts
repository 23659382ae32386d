import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { MqttClient } from 'mqtt';
import type { TaskModel } from '../sim/task.js';
import { ControlLoop, type ExecutedCommand, type Mode } from './control-loop.js';
import { DeployReceiver, type PolicyLoader } from './deploy-receiver.js';
import type { Driver } from './devices/driver.js';
import { CHANNEL_QOS, decodeMessage, jsonCodec, makeEnvelope, parseTopic, SeqCounter, topicFor, type Channel, type Codec, type Envelope, type MessageType, type PayloadOf } from './protocol.js';
import { EStopLatch, MessageGate, RejectCounter, type GateOptions, type SafetyEvent } from './safety.js';

/**
 * The on-robot runtime (`embody agent`, and `embody sim-device` with the sim driver). This
 * file routes MQTT: it checks every message (gate, e-stop latch) and hands it on, one at a
 * time, to the job that handles it, and it publishes what they report.
 *
 * - `control-loop.ts`: remote mode (execute `cmd` behind the robot-side safety layer), policy
 *   mode (run a deployed policy locally, one inference per control step), the watchdog, and
 *   the swap of a new policy between two control steps.
 * - `deploy-receiver.ts`: deployments arriving on `policy` in chunks, checked by sha256 and by
 *   loading and running the policy, persisted atomically. A deployment that fails any check
 *   leaves the old policy in charge.
 * - The e-stop latch and the active policy live in `dataDir`, so a restart resumes both.
 */

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
  loadPolicy?: PolicyLoader;
  log?: (line: string) => void;
}

export class RobotAgent {
  readonly robotId: string;
  readonly rejects = new RejectCounter();
  readonly events: SafetyEvent[] = [];
  /** Messages received on our topics, and those that passed every check. */
  received = 0;
  accepted = 0;

  private readonly client: MqttClient;
  private readonly driver: Driver;
  private readonly codec: Codec;
  private readonly seq = new SeqCounter();
  private readonly cmdGate: MessageGate;
  private readonly policyGate: MessageGate;
  private readonly estop: EStopLatch;
  private readonly loop: ControlLoop;
  private readonly deploys: DeployReceiver;
  private readonly dataDir: string;
  private readonly persistent: boolean;
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private tickQueued = false;
  private readonly onMessage: (topic: string, payload: Buffer) => void;
  private readonly onConnect: () => void;

  constructor(private readonly options: AgentOptions) {
    this.robotId = options.robotId;
    this.client = options.client;
    this.driver = options.driver;
    this.codec = options.codec ?? jsonCodec;
    this.cmdGate = new MessageGate(options.gate);
    // Deployments travel at QoS 1 and may be retried; only ordering matters for them.
    this.policyGate = new MessageGate({ maxAgeMs: 120_000, maxFutureMs: 120_000 });
    this.persistent = !!options.dataDir;
    this.dataDir = options.dataDir ?? path.join(tmpdir(), `embody-agent-${options.robotId}-${process.pid}-${Date.now()}`);
    mkdirSync(this.dataDir, { recursive: true });
    this.estop = new EStopLatch(this.persistent ? path.join(this.dataDir, 'estop.json') : undefined);
    const rejectLate = (reason: Parameters<RejectCounter['add']>[0], detail: string) => {
      this.accepted--;
      this.reject(reason, detail);
    };
    const event = (e: SafetyEvent) => this.event(e);
    const log = (line: string) => this.log(line);
    this.loop = new ControlLoop(
      { ...options, estop: this.estop, maxAgeMs: options.gate?.maxAgeMs ?? 500 },
      { publishState: (state, cmdSeq) => this.publishState(state, cmdSeq), publishStatus: () => this.publishStatus(), event, rejectLate, log },
    );
    this.deploys = new DeployReceiver(
      { model: options.model, controlPeriodS: options.controlPeriodS, dataDir: this.dataDir, loadPolicy: options.loadPolicy },
      {
        ack: (deployId, status, extra = {}) => this.publish('policy/ack', 'policy.ack', { deployId, status, ...extra }),
        install: (controller, policyId) => this.loop.offer(controller, policyId),
        activePolicyId: () => this.loop.policyId,
        readState: () => this.driver.readState(),
        event,
        rejectLate,
        log,
      },
    );
    this.onMessage = (topic, payload) => this.handleMessage(topic, payload);
    this.onConnect = () => this.publishStatus();
  }

  /** Resume the persisted policy, subscribe, announce, and start the clock. */
  async start(): Promise<void> {
    const resumed = await this.deploys.resume();
    if (resumed) this.loop.resume(resumed.controller, resumed.policyId);
    if (this.estop.engaged) this.loop.mode = 'estop';
    this.client.on('message', this.onMessage);
    this.client.on('connect', this.onConnect);
    const topics = (['cmd', 'policy', 'estop'] as Channel[]).map((c) => topicFor(this.robotId, c));
    await this.client.subscribeAsync(topics, { qos: 1 });
    this.publishStatus();
    await this.loop.start();
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
    this.loop.stop();
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

  get mode(): Mode {
    return this.loop.mode;
  }

  /** The policy in charge (null: none deployed). */
  get policyId(): string | null {
    return this.loop.policyId;
  }

  /** Last 20,000 setpoints given to the driver, for tests and post-mortems. */
  get executed(): ExecutedCommand[] {
    return this.loop.executed;
  }

  /** A simulated device has run all its episodes: the agent obeys nothing more. */
  get finished(): boolean {
    return this.loop.finished;
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
        if (t.channel === 'policy') this.deploys.refuseMalformed(bytes, d.detail);
        return this.reject(d.reason, d.detail);
      }
      const msg = d.msg;
      if (t.channel === 'estop') {
        this.accepted++;
        // The latch flips now, and the driver is told now, not when the queue reaches it: an
        // e-stop never waits behind a command or a deployment.
        const ev = this.estop.apply((msg as Envelope<'estop'>).payload, msg.tMs);
        if (ev?.kind === 'estop' && this.estop.engaged) this.loop.engageEstop(msg.seq, msg.tMs);
        if (ev) this.enqueue(() => this.loop.onEstop(msg as Envelope<'estop'>, ev));
        // Every e-stop message gets a fresh status, so whoever sent it sees what happened.
        this.publishStatus();
        return;
      }
      if (t.channel === 'cmd') {
        const g = this.cmdGate.check(msg, 'cmd');
        if (!g.ok) return this.reject(g.reason, g.detail);
        this.accepted++;
        return this.enqueue(() => this.loop.onCmd(msg as Envelope<'cmd'>, Date.now()));
      }
      if (t.channel === 'policy') {
        const g = this.policyGate.check(msg, 'policy');
        if (!g.ok) return this.reject(g.reason, g.detail);
        this.accepted++;
        return this.enqueue(() => this.deploys.onPolicy(msg));
      }
    } catch (err) {
      // Never let one message take the robot down.
      this.event({ kind: 'rejected', severity: 'error', detail: `internal error handling ${topic}: ${(err as Error).message}` });
    }
  }

  /** Messages and ticks run one at a time, in arrival order. */
  private enqueue(fn: () => Promise<void> | void): void {
    this.chain = this.chain.then(fn).catch((err) => {
      this.event({ kind: 'rejected', severity: 'error', detail: `agent error: ${(err as Error).message}` });
    });
  }

  private tick(): Promise<void> | void {
    if (this.closed) return;
    const now = Date.now();
    const report = this.rejects.due(now);
    if (report) this.publish('events', 'event', { kind: 'rejected', severity: 'warn', detail: report.detail, counts: report.counts });
    return this.loop.tick(now);
  }

  private reject(reason: Parameters<RejectCounter['add']>[0], detail: string): void {
    const report = this.rejects.add(reason, detail);
    if (report) this.publish('events', 'event', { kind: 'rejected', severity: 'warn', detail: report.detail, counts: report.counts });
  }

  // ------------------------------------------------------------ outgoing

  private publishState(state: Record<string, unknown>, cmdSeq: number | undefined): number {
    const seq = this.seq.next();
    const episode = this.driver.episodeInfo?.();
    this.publish('state', 'state', { state, ...(cmdSeq !== undefined ? { cmdSeq } : {}), ...(episode ? { episode } : {}) }, seq);
    return seq;
  }

  private publishStatus(): void {
    if (this.closed) return;
    this.publish('status', 'status', { online: true, mode: this.loop.mode, policyId: this.loop.policyId, driver: this.driver.name });
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
