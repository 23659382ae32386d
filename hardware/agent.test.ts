import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createScripted } from '../controllers/registry.js';
import { offlineWill, RobotAgent } from './agent.js';
import { publishEstop } from './estop-sender.js';
import { jsonCodec, makeEnvelope, topicFor } from './protocol.js';
import { startBroker } from './broker.js';
import { connectClient, endClient } from './client.js';
import { SimDriver } from './devices/sim.js';

describe('RobotAgent running a policy on board, as fast as the sim goes', () => {
  it('an e-stop stops it within a step or two of arriving, however busy the control loop is', async () => {
    const broker = await startBroker();
    const dir = mkdtempSync(path.join(tmpdir(), 'embody-agent-'));
    // A persisted "policy" the injected loader turns into the greedy controller.
    mkdirSync(path.join(dir, 'policy'));
    writeFileSync(path.join(dir, 'policy', 'manifest.json'), '{}');
    const driver = await SimDriver.create({ scene: 'uav-small', seed: 1 });
    const client = await connectClient({ url: broker.url, will: offlineWill('fast') });
    const op = await connectClient({ url: broker.url });
    const agent = new RobotAgent({
      client,
      robotId: 'fast',
      driver,
      model: driver.model,
      controlPeriodS: driver.controlPeriod,
      dataDir: dir,
      mode: 'policy',
      pace: 'fast',
      loadPolicy: async () => ({ controller: await createScripted('greedy', driver.env.spec, { seed: 0, model: driver.model }) }),
    });
    try {
      await agent.start();
      const steps = () => agent.executed.filter((e) => e.source === 'policy').length;
      const end = Date.now() + 20_000;
      while (steps() < 40 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
      expect(steps()).toBeGreaterThanOrEqual(40);
      let atArrival = -1;
      client.prependListener('message', (topic) => {
        if (topic.endsWith('/estop') && atArrival < 0) atArrival = steps();
      });
      await publishEstop(op, 'fast', true, 'test');
      while (agent.mode !== 'estop' && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
      expect(agent.mode).toBe('estop');
      const after = steps();
      expect(atArrival).toBeGreaterThanOrEqual(0);
      expect(after - atArrival).toBeLessThanOrEqual(2);
      await new Promise((r) => setTimeout(r, 200));
      expect(steps()).toBe(after);
    } finally {
      await agent.close();
      await endClient(client);
      await endClient(op);
      driver.close();
      await broker.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('RobotAgent watchdog, end to end', () => {
  it('no cmd within its ttl → hold; holding longer than landAfterMs → land; a fresh cmd resumes', async () => {
    const broker = await startBroker();
    const driver = await SimDriver.create({ scene: 'uav-small', seed: 1 });
    const client = await connectClient({ url: broker.url, will: offlineWill('wd') });
    const station = await connectClient({ url: broker.url });
    const agent = new RobotAgent({ client, robotId: 'wd', driver, model: driver.model, controlPeriodS: driver.controlPeriod, mode: 'remote', landAfterMs: 400 });
    const sendCmd = (seq: number, ttlMs: number) =>
      station.publishAsync(topicFor('wd', 'cmd'), jsonCodec.encode(makeEnvelope('cmd', 'wd', seq, { setpoint: { vx: 3, vy: 0, vz: 0 }, ttlMs, policyId: 't' })), { qos: 0 });
    const until = async (pred: () => boolean, ms: number) => {
      const end = Date.now() + ms;
      while (!pred() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
      return pred();
    };
    try {
      await agent.start();
      const t0 = Date.now();
      await sendCmd(Date.now(), 150);
      expect(await until(() => agent.mode === 'remote', 2000)).toBe(true);
      expect(driver.currentSetpoint.vx).toBe(3);
      expect(await until(() => agent.mode === 'hold', 2000)).toBe(true);
      expect(driver.currentSetpoint).toEqual({ vx: 0, vy: 0, vz: 0 });
      expect(await until(() => agent.mode === 'landing', 2000)).toBe(true);
      // Landing: the sim driver descends (the drone starts at 30 m).
      expect(driver.currentSetpoint.vz).toBeLessThan(0);
      const landAt = agent.executed.find((e) => e.source === 'land')!.atMs;
      expect(landAt - t0).toBeGreaterThanOrEqual(150 + 400);
      await sendCmd(Date.now() + 1, 250);
      expect(await until(() => agent.mode === 'remote', 2000)).toBe(true);
      expect(driver.currentSetpoint.vx).toBe(3);
    } finally {
      await agent.close();
      await endClient(client);
      await endClient(station);
      driver.close();
      await broker.close();
    }
  });
});
