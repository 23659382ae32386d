import { describe, expect, it } from 'vitest';
import { buildTaskModel } from '../sim/registry.js';
import { Box, evaluate, make, register, type Controller, type TaskKind } from './index.js';

// The example task, plain JavaScript that imports 'embody' as a user would (vitest maps it to these sources).
const example = '../examples/point-mass.mjs';
const { pointMassTask } = (await import(/* @vite-ignore */ example)) as { pointMassTask: TaskKind };

describe("the library entry point ('embody')", () => {
  it('make() builds the same episode from the same seed, from a name or a scene object', async () => {
    const a = await make('uav-small', { seed: 3 });
    const b = await make('uav-small', { seed: 3 });
    expect(a.spec.id).toBe('uav-data-collection');
    expect(Array.from(a.reset({ seed: 3 }).obs)).toEqual(Array.from(b.reset({ seed: 3 }).obs));
    a.close();
    b.close();
    const p = await make({ task: 'pendulum', name: 'my-pendulum', description: 'a heavier g', g: 12 });
    expect(p.spec.scene).toBe('my-pendulum');
    p.close();
    await expect(make({ task: 'pendulum', name: 'p', description: 'd', g: -1 })).rejects.toThrow(/scene "p": g: expected a positive number/);
    await expect(make({ task: 'pendulam', name: 'p', description: 'd' })).rejects.toThrow(/expected a task kind: one of "uav", "pendulum"/);
  });

  it('register() adds a task kind that make(), evaluate() and the robot-side model builder use', async () => {
    register(pointMassTask);
    // Registering the same kind again is a no-op; another kind under the same id is refused.
    expect(() => register(pointMassTask)).not.toThrow();
    expect(() => register({ ...pointMassTask })).toThrow(/"point-mass" is already registered/);
    expect(() => register({ id: 'broken', controlPeriod: 0.1, model: () => null as never } as never)).toThrow(/simulate must be a function/);

    const env = await make('examples/point-mass.json', { seed: 0 });
    expect(env.spec.actionSpace).toBeInstanceOf(Box);
    expect(env.spec.maxEpisodeSteps).toBe(200);
    const push: Controller = { kind: 'push', reset() {}, act: (o) => new Float32Array([Math.sign(o[2])]) };
    const still: Controller = { kind: 'still', reset() {}, act: () => new Float32Array([0]) };
    const pushed = await evaluate(push, env, { episodes: 4, seed: 0 });
    const idle = await evaluate(still, env, { episodes: 4, seed: 0 });
    // Pushing towards the target earns more than standing still, from the same four starts.
    expect(pushed.meanReturn).toBeGreaterThan(idle.meanReturn);
    const m = pushed.meanReturn;
    expect(pushed.stdReturn).toBeCloseTo(Math.sqrt(pushed.returns.reduce((a, r) => a + (r - m) ** 2, 0) / 4), 9);
    expect(pushed.summary.finalDistance.mean).toBeLessThan(idle.summary.finalDistance.mean);
    env.close();

    // The robot side builds the model alone: no simulator.
    const { model, controlPeriod } = buildTaskModel({ task: 'point-mass', name: 'pm', description: 'd', target: 2, mass: 1, maxForce: 2, maxEpisodeSteps: 10 });
    expect(controlPeriod).toBe(0.05);
    expect(Array.from(model.observe({ x: 0.5, v: 0 }))).toEqual([0.5, 0, 1.5]);
  });
});
