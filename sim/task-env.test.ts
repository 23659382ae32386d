import { describe, expect, it } from 'vitest';
import { Rng } from '../src/core/rng.js';
import type { StepResult } from '../src/core/env.js';
import { createEnv } from './registry.js';

/**
 * Env state is part of the contract (src/core/env.ts): as Gymnasium's state-restoring tests do,
 * set a saved state, step, and get the same result as the env that was never interrupted.
 */
const stepBits = (r: StepResult) => JSON.stringify({ obs: Array.from(r.obs), reward: r.reward, terminated: r.terminated, truncated: r.truncated, info: r.info });

describe('Env getState/setState', () => {
  for (const scene of ['pendulum', 'cartpole']) {
    it(`${scene}: setState(getState()) then the same actions gives the same steps, in this env and in a fresh one`, async () => {
      const env = await createEnv(scene, { seed: 3 });
      expect(env.canRestore).toBe(true);
      env.reset({ seed: 5 });
      const rng = new Rng(9);
      const sample = () => (env.spec.actionSpace.kind === 'discrete' ? rng.int(env.spec.actionSpace.n) : Float32Array.from({ length: env.spec.actionSpace.size }, () => rng.uniform(-1, 1)));
      for (let i = 0; i < 7; i++) env.step(sample());
      const saved = env.getState();
      // The state is JSON-safe: checkpoints store it as JSON.
      const wire = JSON.parse(JSON.stringify(saved));
      const actions = Array.from({ length: 20 }, sample);
      const first = actions.map((a) => stepBits(env.step(a)));
      env.setState(wire);
      const again = actions.map((a) => stepBits(env.step(a)));
      expect(again).toEqual(first);
      // A fresh env (another seed, another episode) restored to the state continues identically too.
      const other = await createEnv(scene, { seed: 77 });
      other.reset({ seed: 1 });
      other.setState(wire);
      expect(actions.map((a) => stepBits(other.step(a)))).toEqual(first);
      // …and an episode reset after the restore follows the restored RNG stream.
      expect(Array.from(other.reset().obs)).toEqual(Array.from((env.setState(wire), env.reset()).obs));
      other.close();
      env.close();
    });
  }

  it('a task whose simulator cannot restore says so instead of pretending', async () => {
    const env = await createEnv('uav-small', { seed: 0 });
    expect(env.canRestore).toBe(false);
    env.reset({ seed: 0 });
    expect(() => env.getState()).toThrow(/cannot restore a state/);
    env.close();
  });
});
