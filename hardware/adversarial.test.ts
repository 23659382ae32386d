import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { UavModel } from '../sim/uav/model.js';
import { offlineWill, RobotAgent, type AgentOptions } from './agent.js';
import { deployPolicy } from './deploy-sender.js';
import { publishEstop } from './estop-sender.js';
import { connectClient, endClient } from './client.js';
import { SimDriver } from './devices/sim.js';
import { clearRetained, collect, ensureMosquitto, fitImitationPolicy, mosquittoBroker, sleep, waitFor, type BrokerHandle } from './fixtures.js';
import { DEPLOY_LIMITS, jsonCodec, makeEnvelope, SeqCounter, topicFor, type PayloadOf } from './protocol.js';

/**
 * The robot side of issue 19, one finding per test, against the CI Mosquitto with the shipped
 * ACL (hardware/mosquitto): a real agent on a simulated UAV, and an attacker holding the
 * ground station's credentials (the most it can have short of the robot's own). Each test
 * tries to break one rule, as Mosquitto's own broker tests do.
 */
const SCENE = 'uav-small';
let h: BrokerHandle;
let attacker: MqttClient;
let work: string;
let goodPolicy: string;

let bigPolicy: string;

beforeAll(async () => {
  h = await mosquittoBroker();
  work = mkdtempSync(path.join(tmpdir(), 'embody-adv-'));
  goodPolicy = path.join(work, 'good-policy');
  await fitImitationPolicy(goodPolicy, { scene: SCENE, seed: 0, episodes: 1 });
  bigPolicy = await saveBigPolicy(path.join(work, 'big-policy'));
  // A long keepalive: on a loaded 2-core machine this process may be busy for seconds.
  attacker = await connectClient({ url: h.url, ...h.bridge, clientId: `adversary-${process.pid}`, extra: { keepalive: 60 } });
}, 120_000);

/** A 17 MB policy for uav-small: two hidden layers of 2048 units with small weights. */
async function saveBigPolicy(dir: string): Promise<string> {
  const env = await (await import('../sim/registry.js')).createEnv(SCENE, { seed: 0 });
  const m = env.model;
  env.close();
  const n = m.observationSpace.size;
  const W = 2048;
  const tiny = (len: number) => new Float32Array(len).fill(1e-4);
  const { savePolicy } = await import('../controllers/policy/index.js');
  await savePolicy(dir, {
    kind: 'bc-mlp',
    taskId: m.id,
    scene: SCENE,
    observationSpace: m.observationSpace,
    actionSpace: m.actionSpace,
    network: { spec: { inputSize: n, layers: [{ type: 'dense', units: W, activation: 'relu' }, { type: 'dense', units: W, activation: 'relu' }, { type: 'dense', units: 3, activation: 'linear' }] }, weights: [tiny(n * W), tiny(W), tiny(W * W), tiny(W), tiny(W * 3), tiny(3)] },
    head: 'gaussian-mean',
  });
  return dir;
}

afterAll(async () => {
  await endClient(attacker, true);
  rmSync(work, { recursive: true, force: true });
});

interface Robot {
  agent: RobotAgent;
  driver: SimDriver;
  model: UavModel;
  stop(): Promise<void>;
}

async function startRobot(id: string, opts: Partial<AgentOptions> = {}): Promise<Robot> {
  await clearRetained(attacker, id);
  const driver = await SimDriver.create({ scene: SCENE, seed: 1 });
  const client = await connectClient({ url: h.url, ...h.robot(id), will: offlineWill(id), clientId: `${id}-adv-${Date.now()}`, extra: { keepalive: 60 } });
  const agent = new RobotAgent({ client, robotId: id, driver, model: driver.model, controlPeriodS: driver.controlPeriod, mode: 'remote', ...opts });
  await agent.start();
  return {
    agent,
    driver,
    model: driver.model as UavModel,
    async stop() {
      await agent.close();
      await endClient(client, true);
      driver.close();
      await clearRetained(attacker, id);
    },
  };
}

const seq = new SeqCounter();
function sendCmd(id: string, setpoint: unknown): Promise<unknown> {
  const env = makeEnvelope('cmd', id, seq.next(), { setpoint: setpoint as PayloadOf<'cmd'>['setpoint'], ttlMs: 1000, policyId: 'adversary' });
  return attacker.publishAsync(topicFor(id, 'cmd'), jsonCodec.encode(env), { qos: 0 });
}
function sendPolicy<T extends 'policy.begin' | 'policy.chunk' | 'policy.commit'>(id: string, type: T, payload: unknown): Promise<unknown> {
  const env = makeEnvelope(type, id, seq.next(), payload as PayloadOf<T>);
  return attacker.publishAsync(topicFor(id, 'policy'), jsonCodec.encode(env), { qos: 1 });
}
const cmdsRun = (r: Robot) => r.agent.executed.filter((e) => e.source === 'cmd');
const pos = (r: Robot) => r.driver.readState().pos as number[];
const vel = (r: Robot) => r.driver.readState().vel as number[];

describe('finding 1: setpoint values given as strings', () => {
  it('never reach the driver; the robot holds, within its limits, and reports each one', async () => {
    const r = await startRobot('r1');
    const events = await collect<'event'>(attacker, 'r1', 'events');
    try {
      const { maxVerticalSpeed, maxSpeed } = r.model.scene.uav;
      for (let i = 0; i < 15; i++) {
        await sendCmd('r1', i % 2 ? { vx: 0, vy: 0, vz: '1000' } : { vx: '-15', vy: 0, vz: 0 });
        await sleep(30);
      }
      await waitFor(() => cmdsRun(r).length >= 15, 10_000, '15 commands handled');
      for (const c of cmdsRun(r)) {
        for (const v of Object.values(c.setpoint)) expect(typeof v, JSON.stringify(c.setpoint)).toBe('number');
        expect(c.setpoint).toEqual(r.model.holdSetpoint());
      }
      expect(Math.abs(vel(r)[2])).toBeLessThanOrEqual(maxVerticalSpeed);
      expect(Math.abs(vel(r)[0])).toBeLessThanOrEqual(maxSpeed);
      await waitFor(() => events.messages.filter((e) => e.payload.kind === 'rejected' && /setpoint refused/.test(e.payload.detail)).length >= 15, 5000, 'a rejection event per command');
    } finally {
      await events.stop();
      await r.stop();
    }
  });
});

describe('finding 2: "NaN" values and Object.prototype keys', () => {
  it('do not wedge the robot: nothing non-finite reaches the driver, and the next valid command moves it', async () => {
    const r = await startRobot('r2');
    try {
      await sendCmd('r2', { vx: 'NaN', vy: 0, vz: 0 });
      await sleep(50);
      await sendCmd('r2', { vx: 0, vy: 0, vz: 0, constructor: 0 });
      await sleep(50);
      await sendCmd('r2', { vx: 0, vy: 0, toString: 0 });
      await waitFor(() => r.agent.executed.length >= 1, 5000, 'the hostile commands handled');
      await sleep(200);
      const x0 = pos(r)[0];
      for (let i = 0; i < 10; i++) {
        await sendCmd('r2', { vx: 3, vy: 0, vz: 0 });
        await sleep(30);
      }
      await waitFor(() => pos(r)[0] > x0 + 0.2, 5000, 'the robot to move on a valid command');
      for (const c of r.agent.executed) for (const v of Object.values(c.setpoint)) if (typeof v === 'number') expect(Number.isFinite(v)).toBe(true);
      for (const v of [...pos(r), ...vel(r)]) expect(Number.isFinite(v)).toBe(true);
      expect(Object.keys(r.driver.currentSetpoint).sort()).toEqual(['vx', 'vy', 'vz']);
    } finally {
      await r.stop();
    }
  });
});

describe('finding 3: deployments stay within bounds', () => {
  it('refuses, with an ack and a reason, what begin cannot promise; the e-stop never waits behind it', async () => {
    const dataDir = path.join(work, 'r3');
    const r = await startRobot('r3', { dataDir, mode: 'auto' });
    const acks = await collect<'policy.ack'>(attacker, 'r3', 'policy/ack');
    const ackOf = async (deployId: string) => {
      await waitFor(() => acks.messages.some((a) => a.payload.deployId === deployId), 5000, `an ack for ${deployId}`);
      return acks.messages.find((a) => a.payload.deployId === deployId)!.payload;
    };
    const sha = 'a'.repeat(64);
    const manifest = (name = 'manifest.json') => ({ name, size: 10, sha256: sha, chunks: 1 });
    try {
      // 1e7 chunks for a 1-byte file: refused at begin, before any memory is set aside.
      await sendPolicy('r3', 'policy.begin', { deployId: 'huge-count', policyId: 'x', files: [manifest(), { name: 'w.bin', size: 1, sha256: sha, chunks: 1e7 }] });
      expect(await ackOf('huge-count')).toMatchObject({ status: 'rejected', reason: expect.stringMatching(/chunks/) });
      // More files than a deployment may hold.
      const many = Array.from({ length: DEPLOY_LIMITS.maxFiles + 1 }, (_, i) => ({ name: `f${i}.bin`, size: 1, sha256: sha, chunks: 1 }));
      await sendPolicy('r3', 'policy.begin', { deployId: 'many-files', policyId: 'x', files: [manifest(), ...many] });
      expect((await ackOf('many-files')).status).toBe('rejected');
      // A path in a file name: acked, not silently dropped.
      await sendPolicy('r3', 'policy.begin', { deployId: 'dotdot', policyId: 'x', files: [manifest(), { name: '../../etc/x', size: 1, sha256: sha, chunks: 1 }] });
      expect((await ackOf('dotdot')).status).toBe('rejected');
      // Received bytes are bounded by the declared size: 20 chunks of 100 KiB for a 10-byte file.
      await sendPolicy('r3', 'policy.begin', { deployId: 'flood', policyId: 'x', files: [manifest(), { name: 'w.bin', size: 10, sha256: sha, chunks: 10 }] });
      expect((await ackOf('flood')).status).toBe('ready');
      const big = Buffer.alloc(100 * 1024, 7).toString('base64');
      for (let i = 0; i < 3; i++) await sendPolicy('r3', 'policy.chunk', { deployId: 'flood', file: 'w.bin', index: i, data: big });
      await waitFor(() => acks.messages.filter((a) => a.payload.deployId === 'flood').length >= 2, 5000, 'the flood refused');
      expect(acks.messages.filter((a) => a.payload.deployId === 'flood')[1].payload).toMatchObject({ status: 'rejected', reason: expect.stringMatching(/declared 10 bytes/) });
      // A manifest that lists a file outside the deployment: refused, and the reason names
      // neither the host's paths nor any hash we computed.
      const m = Buffer.from(JSON.stringify({ format: 'embody.policy/1', files: { '../../../../../../etc/hostname': 'b'.repeat(64) } }));
      const { createHash } = await import('node:crypto');
      const mSha = createHash('sha256').update(m).digest('hex');
      await sendPolicy('r3', 'policy.begin', { deployId: 'escape', policyId: 'x', files: [{ name: 'manifest.json', size: m.length, sha256: mSha, chunks: 1 }] });
      expect((await ackOf('escape')).status).toBe('ready');
      await sendPolicy('r3', 'policy.chunk', { deployId: 'escape', file: 'manifest.json', index: 0, data: m.toString('base64') });
      await sendPolicy('r3', 'policy.commit', { deployId: 'escape' });
      await waitFor(() => acks.messages.filter((a) => a.payload.deployId === 'escape').length >= 2, 5000, 'the escape refused');
      const escape = acks.messages.filter((a) => a.payload.deployId === 'escape')[1].payload;
      expect(escape.status).toBe('rejected');
      expect(escape.reason).not.toContain(dataDir);
      expect(escape.reason).not.toContain('staging');
      expect(escape.reason).not.toMatch(/[0-9a-f]{12}/);
      // And through all of it, an e-stop is applied at once.
      const t0 = Date.now();
      await publishEstop(attacker, 'r3', true, 'test');
      await waitFor(() => r.agent.mode === 'estop', 1000, 'the e-stop');
      expect(Date.now() - t0).toBeLessThan(500);
      expect(r.agent.policyId).toBeNull();
    } finally {
      await acks.stop();
      await r.stop();
    }
  });
  it('an e-stop sent right after the commit of a 17 MB policy stops the robot before the deployment is done', async () => {
    const dir = bigPolicy;
    const dataDir = path.join(work, 'r14');
    const r = await startRobot('r14', { mode: 'auto', dataDir });
    try {
      let stoppedAt = 0;
      const stop = r.driver.stop.bind(r.driver);
      r.driver.stop = () => {
        stoppedAt ||= Date.now();
        stop();
      };
      // The deployment by hand, so that the e-stop goes out right behind the commit.
      const acks = await collect<'policy.ack'>(attacker, 'r14', 'policy/ack');
      const { createHash } = await import('node:crypto');
      const C = 48 * 1024;
      const files = readdirSync(dir).sort().map((name) => {
        const data = readFileSync(path.join(dir, name));
        return { name, data, size: data.length, sha256: createHash('sha256').update(data).digest('hex'), chunks: Math.ceil(data.length / C) };
      });
      expect(files.reduce((a, f) => a + f.size, 0)).toBeGreaterThan(16e6);
      await sendPolicy('r14', 'policy.begin', { deployId: 'big', policyId: 'big', files: files.map(({ name, size, sha256, chunks }) => ({ name, size, sha256, chunks })) });
      await waitFor(() => acks.messages.some((a) => a.payload.status === 'ready'), 5000, 'ready');
      for (const f of files) for (let i = 0; i < f.chunks; i++) await sendPolicy('r14', 'policy.chunk', { deployId: 'big', file: f.name, index: i, data: f.data.subarray(i * C, (i + 1) * C).toString('base64') });
      await sendPolicy('r14', 'policy.commit', { deployId: 'big' });
      const sentAt = Date.now();
      await publishEstop(attacker, 'r14', true, 'mid-deployment');
      await waitFor(() => acks.messages.some((a) => a.payload.status === 'activated'), 60_000, 'the deployment activated');
      await acks.stop();
      await waitFor(() => stoppedAt > 0, 5000, 'the e-stop applied');
      expect(r.agent.estopEngaged).toBe(true);
      // Not behind the install: the robot stopped before the new policy was even persisted.
      const installedAt = statSync(path.join(dataDir, 'policy.json')).mtimeMs;
      expect(stoppedAt).toBeLessThan(installedAt);
      expect(stoppedAt - sentAt).toBeLessThan(1000);
    } finally {
      await r.stop();
    }
  }, 120_000);
});

describe('finding 4: a policy with NaN weights', () => {
  it('is refused: its outputs are checked on probe observations, not only on zeros', async () => {
    const dir = path.join(work, 'nan-policy');
    const r = await startRobot('r4', { mode: 'auto' });
    try {
      const n = r.model.observationSpace.size;
      const { savePolicy } = await import('../controllers/policy/index.js');
      await savePolicy(dir, {
        kind: 'bc-linear',
        taskId: r.model.id,
        scene: SCENE,
        observationSpace: r.model.observationSpace,
        actionSpace: r.model.actionSpace,
        network: { spec: { inputSize: n, layers: [{ type: 'dense', units: 3, activation: 'linear' }] }, weights: [new Float32Array(n * 3).fill(NaN), new Float32Array(3)] },
        head: 'gaussian-mean',
      });
      await expect(deployPolicy(attacker, 'r4', dir, { timeoutMs: 15_000 })).rejects.toThrow(/non-finite/);
      expect(r.agent.policyId).toBeNull();
      // A good policy still goes through the same checks.
      const ok = await deployPolicy(attacker, 'r4', goodPolicy, { timeoutMs: 15_000 });
      await waitFor(() => r.agent.policyId === ok.policyId, 5000, 'the good policy active');
    } finally {
      await r.stop();
    }
  });
});

describe('finding 5: the e-stop latch', () => {
  it('a release stamped between two engages does not clear the second', async () => {
    const r = await startRobot('r5');
    try {
      const now = Date.now();
      const estop = (engaged: boolean, tMs: number) =>
        attacker.publishAsync(topicFor('r5', 'estop'), jsonCodec.encode(makeEnvelope('estop', 'r5', seq.next(), { engaged, reason: 'test' }, tMs)), { qos: 1, retain: true });
      await estop(true, now - 300);
      await estop(true, now - 10);
      await estop(false, now - 150);
      await sleep(300);
      for (let i = 0; i < 5; i++) {
        await sendCmd('r5', { vx: 1, vy: 0, vz: 0 });
        await sleep(30);
      }
      await sleep(300);
      expect(r.agent.estopEngaged).toBe(true);
      expect(cmdsRun(r)).toHaveLength(0);
      expect(r.agent.events.some((e) => /release refused \(not-newer\)/.test(e.detail))).toBe(true);
    } finally {
      await r.stop();
    }
  });

  it('a truncated latch file means engaged as of start-up: an hour-old retained release does not clear it', async () => {
    const dataDir = path.join(work, 'r6-latch');
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(path.join(dataDir, 'estop.json'), '{"engaged": tr');
    const hourAgo = Date.now() - 3_600_000;
    const r = await startRobot('r6', { dataDir });
    try {
      // The retained release a broker may still hold from an hour ago.
      await attacker.publishAsync(topicFor('r6', 'estop'), jsonCodec.encode(makeEnvelope('estop', 'r6', seq.next(), { engaged: false, reason: 'old' }, hourAgo)), { qos: 1, retain: true });
      await sleep(400);
      for (let i = 0; i < 5; i++) {
        await sendCmd('r6', { vx: 1, vy: 0, vz: 0 });
        await sleep(30);
      }
      await sleep(300);
      expect(r.agent.estopEngaged).toBe(true);
      expect(cmdsRun(r)).toHaveLength(0);
    } finally {
      await r.stop();
    }
  });

  it('`bridge --release` with credentials the ACL denies reports that nothing was released', async () => {
    const r = await startRobot('r7');
    const pwFile = path.join(work, 'robot-pw');
    writeFileSync(pwFile, h.robot('r8').password);
    try {
      await publishEstop(attacker, 'r7', true, 'test');
      await waitFor(() => r.agent.estopEngaged, 3000, 'engaged');
      const { runBridgeCommand } = await import('./cli.js');
      const lines: string[] = [];
      const spy = vi.spyOn(console, 'log').mockImplementation((l: string) => void lines.push(String(l)));
      try {
        // r8 is a robot account: Mosquitto's ACL drops its write to r7's estop (and says nothing).
        await runBridgeCommand({ broker: h.url, username: 'r8', passwordFile: pwFile, robot: ['r7'], release: 'try', policy: 'greedy', scene: SCENE, ttl: '250', codec: 'json', rateLimit: true, port: '0', seed: '0' });
      } finally {
        spy.mockRestore();
      }
      expect(r.agent.estopEngaged).toBe(true);
      expect(lines.join('\n')).toMatch(/r7: e-stop release NOT confirmed/);
      expect(lines.join('\n')).not.toMatch(/e-stop released/);
      expect(process.exitCode).toBe(2);
      process.exitCode = 0;
    } finally {
      await r.stop();
    }
  });
});

it('the CI Mosquitto is the one with the shipped ACL', async () => {
  const c = await ensureMosquitto();
  expect(c.bridge.username).toBe('bridge');
});
