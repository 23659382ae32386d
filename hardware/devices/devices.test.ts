import { describe, expect, it } from 'vitest';
import { createEnv, listScenes } from '../../sim/registry.js';
import { taskModelOf } from '../cli.js';
import { toTelemetry } from './driver.js';
import { createDriver, DRIVERS } from './registry.js';
import { SimDriver } from './sim.js';

/**
 * The driver registry, the sim driver's own episodes, and the robot-side task model the CLI
 * builds without a simulator. Real scenes, real physics.
 */
describe('devices', () => {
  it('the registry makes the sim driver by name, and refuses unknown names and bad options with a clear error', async () => {
    expect(Object.keys(DRIVERS)).toContain('sim');
    const d = await createDriver('sim', { scene: 'pendulum', seed: 3 });
    try {
      expect(d).toBeInstanceOf(SimDriver);
      expect((d as SimDriver).seedUsed).toBe(3);
    } finally {
      await d.close?.();
    }
    await expect(createDriver('px5', { scene: 'pendulum' })).rejects.toThrow('unknown driver "px5". Known: sim');
    await expect(createDriver('toString', { scene: 'pendulum' })).rejects.toThrow('unknown driver "toString"');
    await expect(createDriver('sim', {})).rejects.toThrow('sim driver: a scene is needed');
    await expect(createDriver('sim', { scene: 'pendulum', seed: Number('x') })).rejects.toThrow('seed must be an integer, got NaN');
    await expect(createDriver('sim', { scene: 'pendulum', episodes: 0 })).rejects.toThrow('episodes must be a whole number ≥ 1, got 0');
  });

  it('the sim driver counts its episodes: episode i is seeded seed + i, and after the last one it starts no other', async () => {
    const driver = await SimDriver.create({ scene: 'pendulum', seed: 10, episodes: 2 });
    const direct = await createEnv('pendulum', { seed: 0 });
    try {
      const ends = [];
      for (let e = 0; e < 2; e++) {
        // The first state of episode e is the direct env's reset with seed 10 + e.
        direct.reset({ seed: 10 + e });
        expect(driver.readState()).toEqual(toTelemetry(direct.state));
        let out = driver.step();
        while (!out.terminated && !out.truncated) out = driver.step();
        expect(driver.episodeInfo()).toMatchObject({ index: e, truncated: true, reason: 'time-limit' });
        ends.push(driver.endEpisode());
      }
      expect(ends.map((x) => [x.index, x.steps, x.episodesDone, x.next === null])).toEqual([
        [0, direct.spec.maxEpisodeSteps, 1, false],
        [1, direct.spec.maxEpisodeSteps, 2, true],
      ]);
      expect(ends[1].metrics).toEqual(driver.model.metrics(driver.env.bundle.backend.state() as never));
      expect(driver.episodesDone).toBe(2);
      // After the last episode the world stays where it ended.
      expect(driver.episodeInfo()).toMatchObject({ index: 1, truncated: true });
    } finally {
      driver.close();
      direct.close();
    }
  });

  it('the robot-side task model (no simulator) has the spec of the simulated env, for every scene', async () => {
    for (const { name, error } of listScenes()) {
      expect(error, name).toBeUndefined();
      const task = taskModelOf(name);
      const env = await createEnv(name, { seed: 0 });
      try {
        expect(task.spec, name).toEqual(env.spec);
        expect(task.controlPeriod, name).toBe(env.bundle.controlPeriod);
        expect(task.model.id, name).toBe(env.model.id);
      } finally {
        env.close();
      }
    }
  });
});
