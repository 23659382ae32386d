import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPolicy } from '../controllers/policy/index.js';
import { createScripted } from '../controllers/registry.js';
import type { Controller } from '../src/core/controller.js';
import { createEnv } from '../sim/registry.js';
import { offlineWill, RobotAgent, type AgentOptions } from './agent.js';
import { Bridge, type BridgeOptions, type EpisodeSummary } from './bridge.js';
import { deployPolicy, policyIdOf } from './deploy-sender.js';
import { publishEstop } from './estop-sender.js';
import { connectClient, endClient } from './client.js';
import { SimDriver } from './devices/sim.js';
import { aedesBroker, ensureMosquitto, fitImitationPolicy, mosquittoBroker, OwnMosquitto, type BrokerHandle } from './fixtures.js';
import { cborCodec, decodeMessage, jsonCodec, makeEnvelope, topicFor, type Channel } from './protocol.js';
import { fuzzPayloads } from './fuzz.js';

/**
 * End-to-end over real brokers: the embedded aedes and a Mosquitto with the shipped ACL.
 * Every robot is a sim device (a Rapier world); every policy is a real artifact.
 */
const SCENE = 'uav-small';
// A seed where the learned policy never meets the geofence: the safety layer then never
// intervenes, so the bridged episode must equal the direct one bit for bit.
const SEED = 5;
let policyDir: string;
let work: string;

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'embody-hw-'));
  policyDir = path.join(work, 'policy');
  await fitImitationPolicy(policyDir, { scene: SCENE, seed: 0 });
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

async function waitFor(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The same controller and seed, stepped directly: what `embody run` computes. */
async function directEpisode(makeController: () => Promise<Controller>, seed: number) {
  const env = await createEnv(SCENE, { seed });
  const c = await makeController();
  let obs = env.reset({ seed }).obs;
  for (;;) {
    const r = env.step(c.act(obs));
    obs = r.obs;
    if (r.terminated || r.truncated) {
      env.close();
      return r.info.episode as { return: number; length: number; metrics: Record<string, number> };
    }
  }
}

interface Robot {
  agent: RobotAgent;
  driver: SimDriver;
  client: MqttClient;
  stop(): Promise<void>;
}

async function startRobot(h: BrokerHandle, id: string, opts: Partial<AgentOptions> & { seed?: number; url?: string; episodes?: number } = {}): Promise<Robot> {
  const driver = await SimDriver.create({ scene: SCENE, seed: opts.seed ?? SEED, episodes: opts.episodes });
  const client = await connectClient({ url: opts.url ?? h.url, ...h.robot(id), will: offlineWill(id), clientId: `${id}-${Date.now()}` });
  const agent = new RobotAgent({ client, robotId: id, driver, model: driver.model, controlPeriodS: driver.controlPeriod, mode: 'remote', ...opts });
  await agent.start();
  return {
    agent,
    driver,
    client,
    async stop() {
      await agent.close();
      await endClient(client, true);
      driver.close();
    },
  };
}

async function startBridge(h: BrokerHandle, robots: string[], makeController: (id: string) => Promise<Controller>, opts: Partial<BridgeOptions> & { url?: string } = {}) {
  const env = await createEnv(SCENE, { seed: 0 });
  const client = await connectClient({ url: opts.url ?? h.url, ...h.bridge, clientId: `bridge-${Date.now()}-${Math.random()}` });
  const bridge = new Bridge({
    client,
    robots,
    model: env.model,
    makeController,
    policyId: 'test',
    controlPeriodS: env.bundle.controlPeriod,
    ...opts,
  });
  await bridge.start();
  return {
    bridge,
    client,
    env,
    async stop() {
      await bridge.close();
      await endClient(client, true);
      env.close();
    },
  };
}

/** Clear a robot's retained estop/status left by an earlier run (Mosquitto persists them). */
async function clearRetained(h: BrokerHandle, id: string): Promise<void> {
  const c = await connectClient({ url: h.url, ...h.bridge });
  await c.publishAsync(topicFor(id, 'estop'), Buffer.alloc(0), { qos: 1, retain: true });
  await endClient(c);
}

const greedy = async () => {
  const env = await createEnv(SCENE, { seed: 0 });
  return createScripted('greedy', env.spec, { seed: 0, model: env.model });
};
const learned = async () => (await loadPolicy(policyDir, { spec: (await createEnv(SCENE, { seed: 0 })).spec })).controller;

const brokers: [string, () => Promise<BrokerHandle>][] = [
  ['aedes', () => aedesBroker()],
  ['mosquitto', () => mosquittoBroker()],
];

describe.each(brokers)('over %s', (name, open) => {
  let h: BrokerHandle;
  beforeAll(async () => {
    h = await open();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('deploys a learned policy over MQTT, and the robot flies a full episode with it: same metrics as the direct run', async () => {
    await clearRetained(h, 'r1');
    const dataDir = path.join(work, `${name}-r1`);
    const robot = await startRobot(h, 'r1', { mode: 'auto', pace: 'fast', dataDir, episodes: 1, rateLimit: false });
    const monitor = await connectClient({ url: h.url, ...h.bridge });
    try {
      const deployed = await deployPolicy(monitor, 'r1', policyDir, { chunkSize: 700 }); // small chunks: several per file
      expect(deployed.policyId).toBe(policyIdOf(policyDir));
      await waitFor(() => robot.driver.episodesDone === 1, 30_000, 'the on-robot episode');
      expect(robot.agent.policyId).toBe(deployed.policyId);
      expect(robot.agent.executed.filter((e) => e.source === 'policy').length).toBeGreaterThan(20);
      const direct = await directEpisode(learned, SEED);
      const s = robot.driver.env.model.metrics(robot.driver.env.bundle.backend.state() as never);
      expect(s).toEqual(direct.metrics);
      expect(robot.driver.episodeInfo().step).toBe(direct.length);
    } finally {
      await endClient(monitor);
      await robot.stop();
    }
  });

  it('a ground-station bridge drives a sim device: metrics equal the direct run exactly without rate limiting, and close with it', async () => {
    const results: Record<string, { mqtt: EpisodeSummary; direct: Awaited<ReturnType<typeof directEpisode>> }> = {};
    for (const rateLimit of [false, true]) {
      await clearRetained(h, 'r2');
      const robot = await startRobot(h, 'r2', { episodes: 1, rateLimit });
      const done: EpisodeSummary[] = [];
      const b = await startBridge(h, ['r2'], learned, { rateLimit, onEpisode: (s) => done.push(s), codec: rateLimit ? cborCodec : jsonCodec });
      try {
        await waitFor(() => done.length === 1, 30_000, 'the bridged episode');
        results[String(rateLimit)] = { mqtt: done[0], direct: await directEpisode(learned, SEED) };
        // On a loaded machine a re-announced state may be answered twice; the older answer is
        // dropped as stale. Nothing else may be rejected.
        const { stale, ...others } = robot.agent.rejects.counts;
        expect(Object.values(others).every((n) => n === 0)).toBe(true);
        expect(b.bridge.rejects.total).toBe(0);
      } finally {
        await b.stop();
        await robot.stop();
      }
    }
    const exact = results.false;
    expect(exact.mqtt.metrics).toEqual(exact.direct.metrics);
    expect(exact.mqtt.length).toBe(exact.direct.length);
    expect(exact.mqtt.return).toBeCloseTo(exact.direct.return, 9);
    const limited = results.true;
    const rel = Math.abs(limited.mqtt.metrics.energyKJ - limited.direct.metrics.energyKJ) / limited.direct.metrics.energyKJ;
    console.log(
      `[${name}] bridged vs direct, seed ${SEED}: exact=${JSON.stringify({ len: [exact.mqtt.length, exact.direct.length], ret: [exact.mqtt.return, exact.direct.return] })}; ` +
        `with rate limit: len ${limited.mqtt.length} vs ${limited.direct.length}, return ${limited.mqtt.return.toFixed(4)} vs ${limited.direct.return.toFixed(4)}, ` +
        `energy ${limited.mqtt.metrics.energyKJ.toFixed(4)} vs ${limited.direct.metrics.energyKJ.toFixed(4)} kJ (${(100 * rel).toFixed(2)}%), ` +
        `Mbit ${limited.mqtt.metrics.mbitCollected.toFixed(3)} vs ${limited.direct.metrics.mbitCollected.toFixed(3)}`,
    );
    expect(limited.mqtt.metrics.fractionCollected).toBeCloseTo(limited.direct.metrics.fractionCollected, 2);
    expect(rel).toBeLessThan(0.1);
  });

  it('e-stop mid-flight: the robot stops at once, ignores commands, stays latched across an agent restart, and resumes only on release', async () => {
    await clearRetained(h, 'r3');
    const dataDir = path.join(work, `${name}-r3`);
    let robot = await startRobot(h, 'r3', { dataDir });
    const b = await startBridge(h, ['r3'], greedy);
    const op = await connectClient({ url: h.url, ...h.bridge });
    try {
      await waitFor(() => robot.agent.executed.filter((e) => e.source === 'cmd').length >= 15, 20_000, '15 commands');
      await publishEstop(op, 'r3', true, 'operator pressed the button');
      await waitFor(() => robot.agent.mode === 'estop', 2000, 'e-stop mode');
      const at = robot.agent.executed.findIndex((e) => e.source === 'estop');
      expect(at).toBeGreaterThan(0);
      await new Promise((r) => setTimeout(r, 600));
      expect(robot.agent.executed.slice(at).filter((e) => e.source === 'cmd')).toEqual([]);
      expect(robot.driver.currentSetpoint.vx).toBe(0);
      expect(robot.driver.currentSetpoint.vz).toBeLessThanOrEqual(0);
      // Kill the agent (no clean shutdown of its session) and start a new one from the same disk.
      await robot.agent.close();
      robot.client.end(true);
      robot.driver.close();
      robot = await startRobot(h, 'r3', { dataDir });
      expect(robot.agent.estopEngaged).toBe(true);
      await new Promise((r) => setTimeout(r, 400));
      expect(robot.agent.mode).toBe('estop');
      expect(robot.agent.executed.filter((e) => e.source === 'cmd')).toEqual([]);
      await publishEstop(op, 'r3', false, 'all clear');
      await waitFor(() => robot.agent.executed.some((e) => e.source === 'cmd'), 5000, 'control to resume after release');
      expect(robot.agent.estopEngaged).toBe(false);
    } finally {
      await endClient(op);
      await b.stop();
      await robot.stop();
    }
  });

  it('the agent killed and restarted resumes with the same policy and e-stop state', async () => {
    await clearRetained(h, 'r5');
    const dataDir = path.join(work, `${name}-r5`);
    let robot = await startRobot(h, 'r5', { dataDir, mode: 'auto', pace: 'realtime' });
    const op = await connectClient({ url: h.url, ...h.bridge });
    try {
      const { policyId } = await deployPolicy(op, 'r5', policyDir);
      await waitFor(() => robot.agent.mode === 'policy', 5000, 'policy mode');
      await publishEstop(op, 'r5', true, 'test');
      await waitFor(() => robot.agent.mode === 'estop', 2000, 'e-stop');
      await robot.agent.close();
      robot.client.end(true);
      robot.driver.close();
      robot = await startRobot(h, 'r5', { dataDir, mode: 'auto', pace: 'realtime' });
      expect(robot.agent.policyId).toBe(policyId);
      expect(robot.agent.estopEngaged).toBe(true);
      await new Promise((r) => setTimeout(r, 500));
      expect(robot.agent.executed.filter((e) => e.source === 'policy')).toEqual([]);
      await publishEstop(op, 'r5', false, 'clear');
      await waitFor(() => robot.agent.mode === 'policy', 3000, 'policy to resume');
    } finally {
      await endClient(op);
      await robot.stop();
    }
  });

  it('a deployment that fails its check leaves the old policy in charge', async () => {
    await clearRetained(h, 'r9');
    const robot = await startRobot(h, 'r9', { dataDir: path.join(work, `${name}-r9`), mode: 'remote' });
    const op = await connectClient({ url: h.url, ...h.bridge });
    try {
      const good = await deployPolicy(op, 'r9', policyDir);
      await waitFor(() => robot.agent.policyId === good.policyId, 3000, 'first policy');
      // A policy for another task: sha256 fine, but the agent's check refuses it.
      const bad = path.join(work, `${name}-bad-policy`);
      const { savePolicy } = await import('../controllers/policy/index.js');
      const { Box } = await import('../src/core/spaces.js');
      await savePolicy(bad, {
        kind: 'test',
        taskId: 'Pendulum-v1',
        observationSpace: new Box(-1, 1, [3]),
        actionSpace: new Box(-1, 1, [1]),
        network: { spec: { inputSize: 3, layers: [{ type: 'dense', units: 1, activation: 'linear' }] }, weights: [new Float32Array(3), new Float32Array(1)] },
        head: 'gaussian-mean',
      });
      await expect(deployPolicy(op, 'r9', bad)).rejects.toThrow(/rejected/);
      expect(robot.agent.policyId).toBe(good.policyId);
    } finally {
      await endClient(op);
      await robot.stop();
    }
  });

  it('the ACL denies unauthorised publishes and subscriptions', async () => {
    const r7 = await connectClient({ url: h.url, ...h.robot('r7') });
    const station = await connectClient({ url: h.url, ...h.bridge });
    const intruder = await connectClient({ url: h.url, ...h.robot('r6') });
    try {
      const seenByR7: string[] = [];
      const seenByStation: string[] = [];
      const seenByIntruder: string[] = [];
      r7.on('message', (t) => seenByR7.push(t));
      station.on('message', (t) => seenByStation.push(t));
      intruder.on('message', (t) => seenByIntruder.push(t));
      await r7.subscribeAsync(topicFor('r7', 'cmd'), { qos: 1 });
      await station.subscribeAsync(topicFor('r7', 'state'), { qos: 1 });
      // Reading another robot's commands: refused (aedes) or granted but never delivered (Mosquitto).
      const granted = await intruder.subscribeAsync([topicFor('r7', 'cmd'), topicFor('r7', 'estop')], { qos: 1 }).catch(() => [{ qos: 128 }]);
      expect(granted.length).toBeGreaterThan(0);
      const cmd = jsonCodec.encode(makeEnvelope('cmd', 'r7', 1, { setpoint: { vx: 1, vy: 0, vz: 0 }, ttlMs: 250, policyId: 'x' }));
      const state = jsonCodec.encode(makeEnvelope('state', 'r7', 1, { state: {} }));
      // A robot may not command anyone (itself included) nor speak for another robot.
      for (const [topic, body] of [
        [topicFor('r7', 'cmd'), cmd],
        [topicFor('r6', 'cmd'), cmd],
        [topicFor('r7', 'state'), state],
        [topicFor('r7', 'estop'), cmd],
      ] as const) {
        // QoS 0: Mosquitto drops a denied publish silently; aedes drops it and closes the connection.
        await intruder.publishAsync(topic, body, { qos: 0 }).catch(() => {});
      }
      // Then the legitimate ones, so we know the spies would have seen the others.
      await station.publishAsync(topicFor('r7', 'cmd'), cmd, { qos: 1 });
      await r7.publishAsync(topicFor('r7', 'state'), state, { qos: 1 });
      await waitFor(() => seenByR7.length >= 1 && seenByStation.length >= 1, 3000, 'the legitimate messages');
      await new Promise((r) => setTimeout(r, 200));
      expect(seenByR7).toEqual([topicFor('r7', 'cmd')]);
      expect(seenByStation).toEqual([topicFor('r7', 'state')]);
      expect(seenByIntruder).toEqual([]);
      // Wrong password: refused.
      await expect(connectClient({ url: h.url, username: 'r6', password: 'wrong', reconnectPeriod: 0 })).rejects.toThrow();
    } finally {
      await endClient(r7);
      await endClient(station);
      await endClient(intruder, true);
    }
  });

  it('fuzz: over 10,000 random and mutated payloads on every channel; nothing crashes, each is rejected or valid', async () => {
    await clearRetained(h, 'r8');
    const robot = await startRobot(h, 'r8', {});
    const b = await startBridge(h, ['r8'], greedy);
    const asBridge = await connectClient({ url: h.url, ...h.bridge });
    const asRobot = await connectClient({ url: h.url, ...h.robot('r8') });
    // Rejections must be reported on `events`, with running counts per reason.
    const reports: Record<string, number>[] = [];
    asBridge.on('message', (topic, bytes) => {
      if (topic !== topicFor('r8', 'events')) return;
      const d = decodeMessage(bytes, { robotId: 'r8', channel: 'events' });
      if (d.ok && (d.msg.payload as { kind: string }).kind === 'rejected') reports.push((d.msg.payload as { counts?: Record<string, number> }).counts ?? {});
    });
    await asBridge.subscribeAsync(topicFor('r8', 'events'), { qos: 1 });
    try {
      const plan: [Channel, MqttClient, number][] = [
        ['cmd', asBridge, 3000],
        ['policy', asBridge, 2500],
        ['estop', asBridge, 1500],
        ['state', asRobot, 3000],
      ];
      let sent = 0;
      // What each receiver must see: the agent reads cmd/policy/estop (plus the bridge's own
      // commands), the bridge reads state/estop.
      let toAgent = 0;
      let toBridge = 0;
      const delivered = () => robot.agent.received >= toAgent + b.bridge.cmdsSent && b.bridge.received >= toBridge;
      for (const [channel, client, n] of plan) {
        const payloads = fuzzPayloads(channel, 'r8', n, 1234 + sent);
        for (let i = 0; i < payloads.length; i += 250) {
          const batch = payloads.slice(i, i + 250);
          await Promise.all(batch.map((p) => client.publishAsync(topicFor('r8', channel), p, { qos: 1 })));
          sent += batch.length;
          if (channel !== 'state') toAgent += batch.length;
          if (channel === 'state' || channel === 'estop') toBridge += batch.length;
          await waitFor(delivered, 20_000, `delivery of ${sent} fuzz messages`);
        }
      }
      expect(sent).toBeGreaterThanOrEqual(10_000);
      // Every message accounted for: accepted or rejected with a reason.
      expect(robot.agent.accepted + robot.agent.rejects.total).toBe(robot.agent.received);
      expect(b.bridge.accepted + b.bridge.rejects.total).toBe(b.bridge.received);
      console.log(`[${name}] fuzz: sent ${sent}; agent received ${robot.agent.received} (valid ${robot.agent.accepted}) rejected ${JSON.stringify(robot.agent.rejects.counts)}; bridge received ${b.bridge.received} (valid ${b.bridge.accepted}) rejected ${JSON.stringify(b.bridge.rejects.counts)}`);
      expect(robot.agent.rejects.total).toBeGreaterThan(5000);
      // Agent and bridge both report on r8's events with their own running counts, at most once a
      // second; rejections pending at the end of a burst go out on the agent's next tick.
      const highest = (reason: string) => Math.max(0, ...reports.map((r) => r[reason] ?? 0));
      await waitFor(() => highest('malformed') > 0 && highest('schema') > 0, 3000, 'rejection reports counting malformed and schema errors');
      expect(highest('malformed')).toBeGreaterThan(0);
      expect(highest('schema')).toBeGreaterThan(0);
      // Still alive and obeying: release whatever the fuzz latched, then a fresh command runs.
      await publishEstop(asBridge, 'r8', false, 'after fuzz');
      await waitFor(() => !robot.agent.estopEngaged, 2000, 'release');
      const before = robot.agent.executed.filter((e) => e.source === 'cmd').length;
      const fresh = makeEnvelope('cmd', 'r8', Number.MAX_SAFE_INTEGER - 1, { setpoint: { vx: 1, vy: 0, vz: 0 }, ttlMs: 250, policyId: 'x' });
      await asBridge.publishAsync(topicFor('r8', 'cmd'), jsonCodec.encode(fresh), { qos: 1 });
      await waitFor(() => robot.agent.executed.filter((e) => e.source === 'cmd').length > before, 3000, 'a command after the fuzz');
    } finally {
      await endClient(asBridge);
      await endClient(asRobot);
      await b.stop();
      await robot.stop();
    }
  });
});

describe('the geofence guard on a policy that seeks the fence', () => {
  it('without the guard the learned policy breaches the fence (seeds 0 and 2); with it, never', async () => {
    const { SetpointGuard } = await import('./safety.js');
    const { controller } = await loadPolicy(policyDir, { spec: (await createEnv(SCENE, { seed: 0 })).spec });
    for (const seed of [0, 2]) {
      const outcome: Record<string, string> = {};
      for (const guarded of [false, true]) {
        const env = await createEnv(SCENE, { seed });
        const guard = new SetpointGuard(env.model, { horizonS: 1, rateLimit: false });
        let obs = env.reset({ seed }).obs;
        let reason = 'time-limit';
        for (let n = 0; n < env.spec.maxEpisodeSteps; n++) {
          const sp = env.model.toSetpoint(controller.act(obs)) as never;
          const state = env.bundle.backend.state();
          const next = env.bundle.backend.advance(guarded ? (guard.filter(sp, state, env.spec.controlPeriod).setpoint as never) : sp, env.spec.controlPeriod);
          const done = env.model.done(next);
          obs = env.model.observe(next);
          if (done.terminated) {
            reason = done.reason!;
            break;
          }
        }
        env.close();
        outcome[guarded ? 'guarded' : 'raw'] = reason;
      }
      expect(outcome.raw).toBe('geofence');
      expect(outcome.guarded).not.toBe('geofence');
    }
  });
});

describe('broker killed and restarted mid-episode', () => {
  const cases: [string, () => Promise<{ h: BrokerHandle; kill: () => Promise<void>; restart: () => Promise<void>; close: () => Promise<void> }>][] = [
    [
      'aedes',
      async () => {
        let a = await aedesBroker();
        const port = a.broker.port;
        return {
          h: a,
          kill: () => a.close(),
          restart: async () => {
            a = await aedesBroker(port);
          },
          close: () => a.close(),
        };
      },
    ],
    [
      'mosquitto',
      async () => {
        const creds = await ensureMosquitto();
        const own = new OwnMosquitto(creds);
        await own.start();
        const base = await mosquittoBroker();
        return { h: { ...base, url: own.url }, kill: () => own.kill(), restart: () => own.start(), close: () => own.kill() };
      },
    ],
  ];

  it.each(cases)('%s: the robot holds within the watchdog time, the bridge reconnects, control resumes, no stale command runs', async (_name, open) => {
    const br = await open();
    const robot = await startRobot(br.h, 'r4', { landAfterMs: 3000 });
    const b = await startBridge(br.h, ['r4'], greedy);
    try {
      await waitFor(() => robot.agent.executed.filter((e) => e.source === 'cmd').length >= 15, 20_000, '15 commands');
      await br.kill();
      const killedAt = Date.now();
      const lastCmd = robot.agent.executed.filter((e) => e.source === 'cmd').at(-1)!;
      await waitFor(() => robot.agent.mode === 'hold', 1000, 'hold');
      const hold = robot.agent.executed.find((e) => e.source === 'hold' && e.atMs >= lastCmd.atMs)!;
      // Hold comes within the command's ttl (250 ms) of the last command, plus the 10 ms tick
      // and what a loaded CI machine adds to timers.
      console.log(`[${_name}] hold ${hold.atMs - lastCmd.atMs} ms after the last command (ttl 250 ms)`);
      expect(hold.atMs - lastCmd.atMs).toBeLessThanOrEqual(250 + 150);
      // While the broker is down, the bridge publishes a command: with queueQoSZero off it is dropped, not queued.
      const stale = makeEnvelope('cmd', 'r4', Date.now() * 10, { setpoint: { vx: 15, vy: 15, vz: 4 }, ttlMs: 250, policyId: 'stale' });
      b.client.publish(topicFor('r4', 'cmd'), jsonCodec.encode(stale), { qos: 0 }, () => {});
      await new Promise((r) => setTimeout(r, 400));
      await br.restart();
      const restartedAt = Date.now();
      await waitFor(() => robot.agent.executed.some((e) => e.source === 'cmd' && e.atMs > restartedAt), 10_000, 'control to resume');
      await waitFor(() => robot.agent.executed.filter((e) => e.source === 'cmd' && e.atMs > restartedAt).length >= 10, 10_000, '10 commands after restart');
      const executedCmds = robot.agent.executed.filter((e) => e.source === 'cmd');
      expect(executedCmds.some((e) => e.seq === stale.seq)).toBe(false);
      // Nothing executed after the restart was sent before it went down.
      expect(executedCmds.filter((e) => e.atMs > restartedAt).every((e) => e.tMs > killedAt)).toBe(true);
      expect(executedCmds.every((e) => e.atMs - e.tMs <= 500)).toBe(true);
      expect(robot.agent.mode).toBe('remote');
    } finally {
      await b.stop();
      await robot.stop();
      await br.close();
    }
  });
});
