import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ContractError } from '../../src/core/errors.js';
import { TaskEnv } from '../task-env.js';
import { buildCartPole, CartPoleBackend, CartPoleModel, cartpoleSceneSchema } from './cartpole.js';

// Expected values below were computed independently in float64 from the step() of
// gymnasium/envs/classic_control/cartpole.py (not by calling this code).

describe('CartPole-v1 port', () => {
  it('matches Gymnasium step by step from [0.01, −0.02, 0.03, 0.04] with actions 1, 0, 1', () => {
    const model = new CartPoleModel();
    const backend = new CartPoleBackend();
    let prev = backend.setState({ x: 0.01, xDot: -0.02, theta: 0.03, thetaDot: 0.04 });
    const expected = [
      [0.009600000000000001, 0.17467919574755525, 0.030799999999999998, -0.2430687179600081],
      [0.013093583914951107, -0.020868848948191993, 0.025938625640799837, 0.0591679999394166],
      [0.012676206935987267, 0.1738717748734813, 0.02712198563958817, -0.22521957255967326],
    ];
    [1, 0, 1].forEach((a, i) => {
      const sp = model.toSetpoint(a);
      expect(sp.force).toBe(a === 1 ? 10 : -10);
      const next = backend.advance(sp, 0.02);
      const e = expected[i];
      expect(next.x).toBeCloseTo(e[0], 13);
      expect(next.xDot).toBeCloseTo(e[1], 13);
      expect(next.theta).toBeCloseTo(e[2], 13);
      expect(next.thetaDot).toBeCloseTo(e[3], 13);
      expect(model.reward()).toBe(1);
      expect(model.done(next).terminated).toBe(false);
      const o = model.observe(next);
      expect(o[1]).toBe(Math.fround(e[1]));
      prev = next;
    });
    expect(prev.x).toBeCloseTo(0.012676206935987267, 13);
  });

  it('terminates beyond |x| > 2.4 or |θ| > 12° (0.20943951 rad), not at the boundary', () => {
    const m = new CartPoleModel();
    const s = (x: number, theta: number) => ({ x, xDot: 0, theta, thetaDot: 0 });
    const thr = 0.20943951023931953;
    expect(m.done(s(2.4, 0)).terminated).toBe(false);
    expect(m.done(s(-2.4, 0)).terminated).toBe(false);
    expect(m.done(s(2.4000001, 0))).toEqual({ terminated: true, reason: 'cart-out-of-bounds' });
    expect(m.done(s(-2.4000001, 0)).terminated).toBe(true);
    expect(m.done(s(0, thr)).terminated).toBe(false);
    expect(m.done(s(0, thr + 1e-9))).toEqual({ terminated: true, reason: 'pole-fell' });
    expect(m.done(s(0, -thr - 1e-9)).terminated).toBe(true);
  });

  it('rejects actions outside Discrete(2)', () => {
    const m = new CartPoleModel();
    expect(() => m.toSetpoint(2)).toThrow(ContractError);
    expect(() => m.toSetpoint(0.5)).toThrow(ContractError);
    expect(m.toSetpoint(Float32Array.of(1)).force).toBe(10);
  });

  it('resets in U[−0.05, 0.05]⁴, rewards the terminating step, and truncates at 500 (not terminates)', () => {
    const scene = cartpoleSceneSchema.parse(JSON.parse(readFileSync(new URL('../../scenes/cartpole.json', import.meta.url), 'utf8')));
    const env = new TaskEnv(buildCartPole(scene), scene.name, 0);
    expect(env.spec.maxEpisodeSteps).toBe(500);
    expect(env.spec.controlPeriod).toBe(0.02);
    for (let ep = 0; ep < 20; ep++) {
      const { obs } = env.reset();
      for (const v of obs) expect(Math.abs(v)).toBeLessThanOrEqual(0.05);
    }
    // Always pushing right makes the pole fall within a few dozen steps.
    env.reset({ seed: 2 });
    let ret = 0;
    let r;
    do {
      r = env.step(1);
      ret += r.reward;
    } while (!r.terminated && !r.truncated);
    expect(r.terminated).toBe(true);
    expect(r.truncated).toBe(false);
    expect((r.info.episode as { return: number }).return).toBe(ret);
    expect(ret).toBeGreaterThan(5);
    expect(ret).toBeLessThan(100);
    // A hand balance controller (push toward the lean) survives to the time limit.
    let obs = env.reset({ seed: 3 }).obs;
    let steps = 0;
    for (;;) {
      r = env.step(obs[2] + 0.5 * obs[3] > 0 ? 1 : 0);
      steps++;
      obs = r.obs;
      if (r.terminated || r.truncated) break;
    }
    expect(r.terminated).toBe(false);
    expect(r.truncated).toBe(true);
    expect(steps).toBe(500);
  });

  it('same seed gives the same episode', () => {
    const run = (seed: number) => {
      const env = new TaskEnv(buildCartPole({ name: 'c', maxEpisodeSteps: 500 }), 'c', seed);
      const out: number[] = Array.from(env.reset({ seed }).obs);
      for (let i = 0; i < 30; i++) out.push(...env.step(i % 3 === 0 ? 0 : 1).obs);
      return out;
    };
    expect(run(11)).toEqual(run(11));
    expect(run(11)).not.toEqual(run(12));
  });

  it('describes a cart and a pole for the viewer, and poses them', () => {
    const b = new CartPoleBackend();
    const d = b.describe();
    expect(d.bodies.filter((x) => x.dynamic).map((x) => x.name)).toEqual(['cart', 'pole']);
    const f = b.frame({ x: 1, xDot: 0, theta: Math.PI / 2, thetaDot: 0 });
    expect(f.poses.length).toBe(14);
    expect(f.poses[0]).toBe(1); // cart x
    expect(f.poses[7]).toBeCloseTo(1.5, 5); // pole centre leans to +x by half the pole length
  });
});
