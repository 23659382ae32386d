import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { runEpisodes, summarise } from '../../src/experiment/rollout.js';
import { createEnv } from '../../sim/registry.js';
import type { TaskEnv } from '../../sim/task-env.js';
import { createController } from '../load.js';
import { planTour } from './uav.js';

function openPathLength(start: number[], pts: number[][], order: number[]) {
  let len = 0;
  let prev = start;
  for (const i of order) {
    len += Math.hypot(pts[i][0] - prev[0], pts[i][1] - prev[1]);
    prev = pts[i];
  }
  return len;
}

function permutations(n: number): number[][] {
  if (n === 1) return [[0]];
  return permutations(n - 1).flatMap((p) => Array.from({ length: n }, (_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)]));
}

describe('tour planning', () => {
  it('2-opt on nearest neighbour is within 10% of the optimal open path on random 6-device sets, and often optimal', () => {
    const rng = new Rng(11);
    let optimal = 0;
    for (let trial = 0; trial < 40; trial++) {
      const pts = Array.from({ length: 6 }, () => [rng.uniform(0, 200), rng.uniform(0, 200)]);
      const start = [rng.uniform(0, 200), rng.uniform(0, 200)];
      const order = planTour(start, pts);
      expect([...order].sort()).toEqual([0, 1, 2, 3, 4, 5]);
      const best = Math.min(...permutations(6).map((p) => openPathLength(start, pts, p)));
      const got = openPathLength(start, pts, order);
      expect(got).toBeLessThanOrEqual(best * 1.1 + 1e-9);
      if (got <= best + 1e-9) optimal++;
    }
    expect(optimal).toBeGreaterThan(25);
  });
});

describe('scripted UAV baselines on uav-small', () => {
  const envs: TaskEnv[] = [];
  afterAll(() => envs.forEach((e) => e.close()));

  it('greedy and tour collect all the data, far more efficiently than hover', async () => {
    const figures: Record<string, Record<string, { mean: number }>> = {};
    for (const name of ['hover', 'greedy', 'tour']) {
      const env = await createEnv('uav-small', { seed: 0 });
      envs.push(env);
      const controller = await createController(name, env.spec, { seed: 0, model: env.model });
      figures[name] = summarise(await runEpisodes({ env, controller, episodes: 2, seed: 0 }));
    }
    expect(figures.hover.fractionCollected.mean).toBeLessThan(0.5);
    for (const name of ['greedy', 'tour']) {
      expect(figures[name].fractionCollected.mean).toBeGreaterThan(0.999);
      expect(figures[name].crashes.mean).toBe(0);
      expect(figures[name].efficiencyBitPerJ.mean).toBeGreaterThan(5 * figures.hover.efficiencyBitPerJ.mean);
    }
  });

  it('an unknown controller or one made for another task is refused clearly', async () => {
    const env = await createEnv('uav-small', { seed: 0 });
    envs.push(env);
    await expect(createController('warp-drive', env.spec, { seed: 0 })).rejects.toThrow(/unknown controller "warp-drive"/);
    const pend = await createEnv('pendulum', { seed: 0 });
    envs.push(pend);
    await expect(createController('tour', pend.spec, { seed: 0 })).rejects.toThrow(/does not support task/);
  });
});
