import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { TaskEnv } from '../task-env.js';
import { angleNormalize, buildPendulum, pendulumSceneSchema, PendulumBackend, PendulumModel } from './pendulum.js';
import { readFileSync } from 'node:fs';

// Expected values below were computed independently in float64 with numpy, from the
// step() of gymnasium/envs/classic_control/pendulum.py (not by calling this code).

describe('Pendulum-v1 port', () => {
  it('matches Gymnasium step by step from θ=1, θ̇=0.5 (normalised actions 0.5, −1, 0.25)', () => {
    const model = new PendulumModel();
    const backend = new PendulumBackend(10);
    let prev = backend.setState({ theta: 1.0, thetaDot: 0.5 });
    const expected = [
      // θ′, θ̇′, reward, float32 obs [cos, sin, θ̇]
      [1.064055161930296, 1.2811032386059225, -1.0259999999999998, [0.4853305220603943, 0.8743307590484619, 1.281103253364563]],
      [1.1458977273501776, 1.6368513083976306, -1.3003359384271678, [0.41222840547561646, 0.911080539226532, 1.6368513107299805]],
      [1.265655812938553, 2.3951617117675066, -1.5812598221266065, [0.3004271984100342, 0.9538047313690186, 2.3951616287231445]],
    ] as const;
    [0.5, -1, 0.25].forEach((a, i) => {
      const sp = model.toSetpoint(Float32Array.of(a));
      expect(sp.torque).toBe(2 * a);
      const next = backend.advance(sp, 0.05);
      const r = model.reward(prev, next, sp);
      const [th, thd, rew, obs] = expected[i];
      expect(next.theta).toBeCloseTo(th, 12);
      expect(next.thetaDot).toBeCloseTo(thd, 12);
      expect(r).toBeCloseTo(rew, 12);
      const o = model.observe(next);
      expect(o).toBeInstanceOf(Float32Array);
      for (let k = 0; k < 3; k++) expect(o[k]).toBeCloseTo(obs[k], 6);
      prev = next;
    });
  });

  it('clips speed at 8, clips torque at 2, and wraps the angle in the cost', () => {
    const model = new PendulumModel();
    const backend = new PendulumBackend(10);
    // θ=3, θ̇=7.9, u=2 → θ̇′ clipped to 8, θ′ = 3.4, reward −15.245.
    let prev = backend.setState({ theta: 3.0, thetaDot: 7.9 });
    let sp = model.toSetpoint(Float32Array.of(5)); // out of range: clipped to 2 N·m
    expect(sp.torque).toBe(2);
    let next = backend.advance(sp, 0.05);
    expect(next.thetaDot).toBe(8);
    expect(next.theta).toBeCloseTo(3.4, 12);
    expect(model.reward(prev, next, sp)).toBeCloseTo(-15.245, 12);
    // θ=4 is normalised to 4−2π in the cost: reward −5.212935146920741.
    prev = backend.setState({ theta: 4.0, thetaDot: 0 });
    sp = model.toSetpoint(Float32Array.of(0));
    next = backend.advance(sp, 0.05);
    expect(next.theta).toBeCloseTo(3.9716199064259525, 12);
    expect(next.thetaDot).toBeCloseTo(-0.5676018714809462, 12);
    expect(model.reward(prev, next, sp)).toBeCloseTo(-5.212935146920741, 12);
    expect(angleNormalize(-4)).toBeCloseTo(2 * Math.PI - 4, 12);
    expect(model.toSetpoint(Float32Array.of(NaN)).torque).toBe(0);
  });

  it('uses the scene g (9.81 gives θ̇′ = 1.26911227707241)', () => {
    const backend = new PendulumBackend(9.81);
    backend.setState({ theta: 1.0, thetaDot: 0.5 });
    const next = backend.advance({ torque: 1 }, 0.05);
    expect(next.thetaDot).toBeCloseTo(1.26911227707241, 12);
    expect(next.theta).toBeCloseTo(1.0634556138536204, 12);
  });

  it('resets in θ ∈ [−π, π], θ̇ ∈ [−1, 1], truncates at 200 steps and never terminates', () => {
    const scene = pendulumSceneSchema.parse(JSON.parse(readFileSync(new URL('../../scenes/pendulum.json', import.meta.url), 'utf8')));
    expect(scene.g).toBe(10);
    const env = new TaskEnv(buildPendulum(scene), scene.name, 3);
    expect(env.spec.controlPeriod).toBe(0.05);
    for (let ep = 0; ep < 20; ep++) {
      env.reset();
      const s = env.state as { theta: number; thetaDot: number };
      expect(Math.abs(s.theta)).toBeLessThanOrEqual(Math.PI);
      expect(Math.abs(s.thetaDot)).toBeLessThanOrEqual(1);
    }
    const b = new PendulumBackend();
    const thetas = Array.from({ length: 2000 }, (_, i) => b.reset(new Rng(i)).theta);
    expect(Math.min(...thetas)).toBeLessThan(-3);
    expect(Math.max(...thetas)).toBeGreaterThan(3);
    env.reset({ seed: 1 });
    let steps = 0;
    for (;;) {
      const r = env.step(Float32Array.of(1));
      steps++;
      expect(r.terminated).toBe(false);
      if (r.truncated) break;
    }
    expect(steps).toBe(200);
  });

  it('same seed gives the same episode', () => {
    const run = (seed: number) => {
      const env = new TaskEnv(buildPendulum({ name: 'p', g: 10, maxEpisodeSteps: 200 }), 'p', seed);
      const out: number[] = Array.from(env.reset({ seed }).obs);
      for (let i = 0; i < 50; i++) out.push(...env.step(Float32Array.of(Math.sin(i))).obs);
      return out;
    };
    expect(run(7)).toEqual(run(7));
    expect(run(7)).not.toEqual(run(8));
  });

  it('rejects unknown scene fields', () => {
    expect(pendulumSceneSchema.safeParse({ task: 'pendulum', name: 'p', description: 'd', gravity: 3 }).success).toBe(false);
  });
});
