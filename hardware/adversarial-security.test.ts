import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { UavModel } from '../sim/uav/model.js';
import { startViewerServer, type ViewerServer } from '../src/viewer/server.js';
import { offlineWill, RobotAgent } from './agent.js';
import { Bridge } from './bridge.js';
import { startBroker } from './broker.js';
import { connectClient, endClient, InsecureBrokerError } from './client.js';
import { SimDriver } from './devices/sim.js';
import { collect, mosquittoBroker, sleep, waitFor } from './fixtures.js';
import { jsonCodec, makeEnvelope, SeqCounter, topicFor } from './protocol.js';

/**
 * The security side of issue 19 (findings 7-10), one rule per test: the URL the check sees is
 * the URL we dial; the embedded broker's WebSocket has an ACL and an Origin check; the
 * viewer's WebSockets check Origin and Host; the bridge keeps the e-stop latch and caps
 * how many robots a glob may bring in.
 */
const seq = new SeqCounter();
/** A valid uav-small telemetry message body. */
const uavState = (devices: number) => ({ t: 0, pos: [50, 50, 20], vel: [0, 0, 0], energyJ: 0, batteryJ: 1e5, remainingBits: Array(devices).fill(1), initialBits: Array(devices).fill(1) });

describe('finding 7: one URL parse for the loopback check and the client', () => {
  it('refuses a URL whose userinfo hides another host, instead of dialling it in plaintext', async () => {
    const h = await mosquittoBroker();
    const port = new URL(h.url).port;
    const t0 = Date.now();
    await expect(connectClient({ url: `mqtt://10.255.255.1:1883\\@127.0.0.1:${port}`, ...h.bridge })).rejects.toBeInstanceOf(InsecureBrokerError);
    expect(Date.now() - t0).toBeLessThan(500); // refused at once, no connect attempt timing out
    // The parsed URL's own credentials are what the client sends: the ACL'd Mosquitto lets them in.
    const c = await connectClient({ url: `mqtt://${h.bridge.username}:${encodeURIComponent(h.bridge.password)}@127.0.0.1:${port}` });
    expect(c.connected).toBe(true);
    await endClient(c, true);
  });
});

describe('finding 8: the embedded broker over WebSocket', () => {
  it('refuses other origins, and without users its WebSocket clients may only watch', async () => {
    const broker = await startBroker({ wsPort: 0 });
    const driver = await SimDriver.create({ scene: 'uav-small', seed: 0 });
    const rc = await connectClient({ url: broker.url, will: offlineWill('ws-robot') });
    const agent = new RobotAgent({ client: rc, robotId: 'ws-robot', driver, model: driver.model, controlPeriodS: driver.controlPeriod, mode: 'remote' });
    await agent.start();
    try {
      // A page on another site: the upgrade is refused.
      await expect(connectClient({ url: broker.wsUrl!, reconnectPeriod: 0, extra: { wsOptions: { headers: { Origin: 'http://evil.example' } } } })).rejects.toThrow();
      // A page from this machine (or a tool with no Origin) connects, but cannot publish.
      const page = await connectClient({ url: broker.wsUrl!, reconnectPeriod: 0, extra: { wsOptions: { headers: { Origin: 'http://localhost:8080' } } } });
      const before = agent.received;
      const release = makeEnvelope('estop', 'ws-robot', seq.next(), { engaged: false, reason: 'from a page' });
      const cmd = makeEnvelope('cmd', 'ws-robot', seq.next(), { setpoint: { vx: 1, vy: 0, vz: 0 }, ttlMs: 500, policyId: 'page' });
      await page.publishAsync(topicFor('ws-robot', 'estop'), jsonCodec.encode(release), { qos: 0, retain: true }).catch(() => {});
      await page.publishAsync(topicFor('ws-robot', 'cmd'), jsonCodec.encode(cmd), { qos: 0 }).catch(() => {});
      await sleep(300);
      expect(agent.received).toBe(before);
      expect(agent.executed.filter((e) => e.source === 'cmd')).toHaveLength(0);
      await endClient(page, true);
      // Beyond loopback, the embedded broker will not run without users.
      await expect(startBroker({ host: '0.0.0.0', port: 0 })).rejects.toThrow(/beyond loopback/);
    } finally {
      await agent.close();
      await endClient(rc, true);
      driver.close();
      await broker.close();
    }
  });

  it('with users, the WebSocket applies the same ACL as Mosquitto: a robot account cannot command another robot', async () => {
    const broker = await startBroker({ wsPort: 0, users: { bridge: { password: 'b', role: 'bridge' }, r1: { password: 'p', role: 'robot' }, r2: { password: 'p', role: 'robot' } } });
    try {
      await expect(connectClient({ url: broker.wsUrl!, reconnectPeriod: 0 })).rejects.toThrow();
      const r2 = await connectClient({ url: broker.url, username: 'r2', password: 'p' });
      const got = await collect<'cmd'>(r2, 'r2', 'cmd');
      const r1 = await connectClient({ url: broker.wsUrl!, username: 'r1', password: 'p', reconnectPeriod: 0 });
      await r1.publishAsync(topicFor('r2', 'cmd'), jsonCodec.encode(makeEnvelope('cmd', 'r2', seq.next(), { setpoint: { vx: 1, vy: 0, vz: 0 }, ttlMs: 500, policyId: 'x' })), { qos: 0 }).catch(() => {});
      const b = await connectClient({ url: broker.wsUrl!, username: 'bridge', password: 'b' });
      await b.publishAsync(topicFor('r2', 'cmd'), jsonCodec.encode(makeEnvelope('cmd', 'r2', seq.next(), { setpoint: { vx: 1, vy: 0, vz: 0 }, ttlMs: 500, policyId: 'x' })), { qos: 0 });
      await waitFor(() => got.messages.length >= 1, 3000, "the bridge's command");
      await sleep(200);
      expect(got.messages.map((m) => m.payload.policyId)).toEqual(['x']);
      for (const c of [r1, r2, b]) await endClient(c, true);
    } finally {
      await broker.close();
    }
  });
});

describe('finding 9: the viewer checks Origin and Host, and answers a malformed URL with 400', () => {
  let server: ViewerServer;
  let runs: string;
  beforeAll(async () => {
    runs = mkdtempSync(path.join(tmpdir(), 'embody-view-adv-'));
    server = await startViewerServer({ port: 0, runsDir: runs });
  });
  afterAll(async () => {
    await server.close();
    rmSync(runs, { recursive: true, force: true });
  });
  const open = (p: string, headers: Record<string, string>) =>
    new Promise<'open' | number>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}${p}`, { headers });
      ws.on('open', () => {
        ws.close();
        resolve('open');
      });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('error', () => resolve(0));
    });
  const get = (p: string, headers: Record<string, string> = {}) =>
    new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: server.port, path: p, headers }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });

  it('refuses /ws/publish and /ws/live from another origin or a rebinding host name; serves its own page and tools', async () => {
    for (const p of ['/ws/publish', '/ws/live']) {
      expect(await open(p, { Origin: 'http://evil.example' })).toBe(403);
      expect(await open(p, { Host: `evil.example:${server.port}` })).toBe(403);
      expect(await open(p, { Origin: `http://127.0.0.1:${server.port}` })).toBe('open');
      expect(await open(p, {})).toBe('open');
    }
    expect(await get('/api/runs', { Host: `rebind.evil.example:${server.port}` })).toBe(403);
    expect(await get('/api/runs/%E0%A4%A')).toBe(400);
    expect(await get('/%E0%A4%A')).toBe(400);
    expect(await get('/api/runs')).toBe(200);
  });
});

describe('finding 10: the bridge keeps the e-stop latch and caps robots per glob', () => {
  it('a release stamped tMs 0 (or older than the engage) does not resume commanding', async () => {
    const broker = await startBroker({});
    const env = await (await import('../sim/registry.js')).createEnv('uav-small', { seed: 0 });
    const state = uavState((env.model as UavModel).K);
    const bc = await connectClient({ url: broker.url });
    const robot = await connectClient({ url: broker.url });
    const bridge = new Bridge({ client: bc, robots: ['b-*'], model: env.model, makeController: () => ({ kind: 'constant', reset() {}, act: () => Float32Array.of(0.1, 0, 0) }), policyId: 'p', controlPeriodS: env.bundle.controlPeriod });
    await bridge.start();
    const pushState = () => robot.publishAsync(topicFor('b-1', 'state'), jsonCodec.encode(makeEnvelope('state', 'b-1', seq.next(), { state })), { qos: 0 });
    const estop = (engaged: boolean, tMs: number) => robot.publishAsync(topicFor('b-1', 'estop'), jsonCodec.encode(makeEnvelope('estop', 'b-1', seq.next(), { engaged, reason: 'x' }, tMs)), { qos: 1, retain: true });
    try {
      await pushState();
      await waitFor(() => bridge.cmdsSent >= 1, 3000, 'a command');
      await estop(true, Date.now());
      await sleep(100);
      const sent = bridge.cmdsSent;
      await estop(false, 0);
      await estop(false, Date.now() - 60_000);
      for (let i = 0; i < 5; i++) {
        await pushState();
        await sleep(30);
      }
      await sleep(200);
      expect(bridge.cmdsSent).toBe(sent);
      // An explicit, newer release does resume.
      await estop(false, Date.now());
      await sleep(50);
      await pushState();
      await waitFor(() => bridge.cmdsSent > sent, 3000, 'commands after a real release');
    } finally {
      await bridge.close();
      env.close();
      await endClient(bc, true);
      await endClient(robot, true);
      await broker.close();
    }
  });

  it('ids made up on an open broker beyond the cap get no controller, and the refusals are reported', async () => {
    const broker = await startBroker({});
    const env = await (await import('../sim/registry.js')).createEnv('uav-small', { seed: 0 });
    const bc = await connectClient({ url: broker.url });
    const flood = await connectClient({ url: broker.url });
    let made = 0;
    const bridge = new Bridge({
      client: bc,
      robots: ['fl-*'],
      model: env.model,
      makeController: () => {
        made++;
        return { kind: 'constant', reset() {}, act: () => Float32Array.of(0, 0, 0) };
      },
      policyId: 'p',
      controlPeriodS: env.bundle.controlPeriod,
      maxRobotsPerGlob: 5,
    });
    await bridge.start();
    const events = await collect<'event'>(flood, 'fl-49', 'events');
    try {
      const state = uavState((env.model as UavModel).K);
      const push = (id: string) => flood.publishAsync(topicFor(id, 'state'), jsonCodec.encode(makeEnvelope('state', id, seq.next(), { state })), { qos: 0 });
      for (let i = 0; i < 50; i++) await push(`fl-${i}`);
      await sleep(1100); // the rejection report is rate-limited to one a second
      await push('fl-49');
      await waitFor(() => bridge.refusedRobots.size === 45, 3000, '45 refusals');
      expect(bridge.robotCount).toBe(5);
      expect(made).toBe(5);
      await waitFor(() => events.messages.some((e) => (e.payload.counts?.capacity ?? 0) > 0), 3000, 'a capacity report on events');
    } finally {
      await events.stop();
      await bridge.close();
      env.close();
      await endClient(bc, true);
      await endClient(flood, true);
      await broker.close();
    }
  });
});
