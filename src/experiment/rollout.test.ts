import { describe, expect, it } from 'vitest';
import { createEnv } from '../../sim/registry.js';
import type { Controller } from '../core/controller.js';
import { runEpisodes, summarise } from './rollout.js';

describe('runEpisodes', () => {
  it('hands every reward to a controller that listens (the DT return-to-go), and reports seeds seed+i', async () => {
    const env = await createEnv('pendulum', { seed: 0 });
    const heard: number[] = [];
    let resets = 0;
    // A fake of our own part: a controller that records what it hears.
    const controller: Controller = {
      kind: 'listener',
      reset: () => void resets++,
      act: () => new Float32Array([0.5]),
      observeReward: (r) => void heard.push(r),
    };
    const results = await runEpisodes({ env, controller, episodes: 2, seed: 10 });
    expect(results.map((r) => r.seed)).toEqual([10, 11]);
    expect(resets).toBe(2);
    expect(heard.length).toBe(results[0].length + results[1].length);
    const total = heard.reduce((a, b) => a + b, 0);
    expect(total).toBeCloseTo(results[0].return + results[1].return, 6);
    expect(summarise(results).return.mean).toBeCloseTo(total / 2, 6);
    env.close();
  });
});
