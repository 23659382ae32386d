import { describe, expect, it } from 'vitest';
import { createScripted } from '../controllers/registry.js';
import { createEnv } from '../sim/registry.js';
import { offlineWill, RobotAgent } from './agent.js';
import { Bridge, type EpisodeSummary } from './bridge.js';
import { startBroker } from './broker.js';
import { connectClient, endClient } from './client.js';
import { SimDriver } from './devices/sim.js';

describe('one bridge process, several robots', () => {
  it('serves robots matched by id and by glob, each with its own controller and episode, and no others', async () => {
    const broker = await startBroker();
    const env = await createEnv('uav-small', { seed: 0 });
    const bc = await connectClient({ url: broker.url });
    const done: EpisodeSummary[] = [];
    const bridge = new Bridge({
      client: bc,
      robots: ['uav-*', 'solo'],
      model: env.model,
      makeController: () => createScripted('greedy', env.spec, { seed: 0, model: env.model }),
      policyId: 'greedy',
      controlPeriodS: env.bundle.controlPeriod,
      onEpisode: (s) => done.push(s),
    });
    await bridge.start();
    expect(bridge.serves('uav-7')).toBe(true);
    expect(bridge.serves('solo')).toBe(true);
    expect(bridge.serves('other')).toBe(false);
    const ids = ['uav-a', 'uav-b', 'solo', 'other'];
    const robots = await Promise.all(
      ids.map(async (id, i) => {
        const driver = await SimDriver.create({ scene: 'uav-small', seed: 20 + i, episodes: 1 });
        const client = await connectClient({ url: broker.url, will: offlineWill(id) });
        const agent = new RobotAgent({ client, robotId: id, driver, model: driver.model, controlPeriodS: driver.controlPeriod, mode: 'remote' });
        await agent.start();
        return { id, driver, client, agent };
      }),
    );
    try {
      const end = Date.now() + 40_000;
      while (done.length < 3 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      expect(done.map((d) => d.robotId).sort()).toEqual(['solo', 'uav-a', 'uav-b']);
      expect(robots.find((r) => r.id === 'other')!.agent.executed.filter((e) => e.source === 'cmd')).toEqual([]);
      // Different seeds, different worlds: each robot's episode is its own.
      expect(new Set(done.map((d) => d.length)).size).toBeGreaterThan(1);
    } finally {
      for (const r of robots) {
        await r.agent.close();
        await endClient(r.client);
        r.driver.close();
      }
      await bridge.close();
      await endClient(bc);
      await broker.close();
      env.close();
    }
  });
});
