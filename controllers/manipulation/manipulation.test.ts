import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { createEnv } from '../../sim/registry.js';
import { initBackend } from '../backend.js';
import { createCriticAgent } from './agent.js';
import { loadCriticAgent } from './load-critic.js';
import { NO_RULES } from './rules.js';
import { bayesianPush } from './bayes.js';
import { Coordinator } from './coordinator.js';
import { CRITIC_CHANNELS, FcnCritic, Rotations } from './critic.js';

beforeAll(async () => {
  await initBackend();
});

describe('rotations', () => {
  it('rotating by 90° turns a horizontal bar vertical, and toWorld inverts toRotated', () => {
    const P = 16;
    const rot = new Rotations(P, 16);
    const height = new Float32Array(P * P);
    for (let c = 4; c < 12; c++) height[8 * P + c] = 0.1; // a bar along +x through row 8
    const out = new Float32Array(P * P * CRITIC_CHANNELS);
    rot.rotateInput(height, new Float32Array(P * P), 4, out, 0);
    // The rotated frame's +x is world +y: the world bar along x lies along the rotated −y axis.
    let alongRows = 0;
    for (let r = 0; r < P; r++) for (let c = 0; c < P; c++) if (out[(r * P + c) * CRITIC_CHANNELS] > 0.5) alongRows += c === 8 || c === 7 ? 1 : 0;
    expect(alongRows).toBeGreaterThanOrEqual(7);
    // Round trip near the centre: world p → rotated → world.
    for (const p of [7 * P + 7, 6 * P + 9, 9 * P + 5]) {
      for (let k = 0; k < 16; k++) {
        const rp = rot.toWorld[k][p];
        expect(rot.toRotated[k][rp]).toBeGreaterThanOrEqual(0);
        const back = rot.toRotated[k][rp];
        expect(Math.abs(Math.floor(back / P) - Math.floor(p / P)) + Math.abs((back % P) - (p % P))).toBeLessThanOrEqual(2);
      }
    }
  });
});

describe('critic', () => {
  it('Huber steps on the executed pixel move its prediction to the label', () => {
    const P = 16;
    const critic = new FcnCritic(P, new Rng(0), 3e-3);
    const input = Float32Array.from({ length: P * P * CRITIC_CHANNELS }, (_, i) => (i % 7) / 7);
    const picked = Int32Array.from([(5 * P + 6) * 2 + 1]);
    const label = Float32Array.from([1]);
    const first = critic.train(input, 1, picked, label)[0];
    let last = first;
    for (let i = 0; i < 60; i++) last = critic.train(input, 1, picked, label)[0];
    expect(Math.abs(last - 1)).toBeLessThan(0.5 * Math.abs(first - 1));
    // Inference (conv2d) and training (im2col) paths agree.
    const q = critic.predict(input, 1);
    const after = critic.train(input, 1, picked, label)[0];
    expect(q[picked[0]]).toBeCloseTo(after, 4);
    critic.dispose();
  });

  it('the coordinator learns a separable push/grasp rule', () => {
    const c = new Coordinator(new Rng(1));
    const rng = new Rng(2);
    const X: number[][] = [];
    const Y: number[] = [];
    for (let i = 0; i < 64; i++) {
      const margin = rng.next();
      X.push([0.2, 0.5, margin, 1, 0]);
      Y.push(margin < 0.5 ? 1 : 0);
    }
    c.fit(X, Y, 300);
    expect(c.pGrasp([0.2, 0.5, 0.05, 1, 0])).toBeGreaterThan(0.5);
    expect(c.pGrasp([0.2, 0.5, 0.95, 1, 0])).toBeLessThan(0.5);
    c.dispose();
  });

  it('the coordinator weighs the classes equally: where most grasps fail, it still grasps where they succeed most', () => {
    // Grasps succeed 40% of the time on a free margin and 5% on a full one: about 1 label in 5 is
    // a success. An unweighted fit reads "always push"; the weighted one grasps on the free margin.
    const rng = new Rng(3);
    const X: number[][] = [];
    const Y: number[] = [];
    for (let i = 0; i < 400; i++) {
      const margin = rng.next();
      X.push([0.2, 0.5, margin, 1, 0]);
      Y.push(rng.next() < (margin < 0.5 ? 0.4 : 0.05) ? 1 : 0);
    }
    const weighted = new Coordinator(new Rng(1));
    weighted.fit(X, Y, 300);
    expect(weighted.pGrasp([0.2, 0.5, 0.1, 1, 0])).toBeGreaterThan(0.5);
    expect(weighted.pGrasp([0.2, 0.5, 0.9, 1, 0])).toBeLessThan(0.5);
    weighted.dispose();
  });
});

describe('bayesian push search', () => {
  it('discounts the region of recent pushes', () => {
    const P = 32;
    const res = 0.01;
    const geo = {
      P,
      res,
      pixelToWorld: (r: number, c: number): [number, number] => [(c + 0.5) * res, (r + 0.5) * res],
      rotationAngle: (k: number) => (k * 2 * Math.PI) / 4,
    };
    // Two equal piles; flat Q: the prior alone ties, so the first argmax is somewhere beside a pile.
    const height = new Float32Array(P * P);
    for (const [r0, c0] of [[8, 8], [8, 23]]) for (let r = r0 - 2; r <= r0 + 2; r++) for (let c = c0 - 2; c <= c0 + 2; c++) height[r * P + c] = 0.04;
    const q = [0, 1, 2, 3].map(() => new Float32Array(P * P).fill(0.3));
    const first = bayesianPush(height, q, [], geo, 0.05);
    const [fx, fy] = geo.pixelToWorld(Math.floor(first.pixel / P), first.pixel % P);
    const end: [number, number] = [fx + 0.05 * Math.cos(geo.rotationAngle(first.rotation)), fy + 0.05 * Math.sin(geo.rotationAngle(first.rotation))];
    const second = bayesianPush(height, q, [end, end, end], geo, 0.05);
    const [sx, sy] = geo.pixelToWorld(Math.floor(second.pixel / P), second.pixel % P);
    expect(Math.hypot(sx - end[0], sy - end[1])).toBeGreaterThan(Math.hypot(fx - end[0], fy - end[1]));
  });
});

describe('critic agent on the real task', () => {
  it('acts with valid actions and survives a save/load round trip', async () => {
    const env = await createEnv('manip-clutter', { seed: 0 });
    const agent = await createCriticAgent(env.spec, { seed: 0, model: env.model });
    const { obs } = env.reset({ seed: 3 });
    const a = agent.act(obs) as number;
    expect(Number.isInteger(a)).toBe(true);
    expect(env.spec.actionSpace.kind === 'discrete' && a < env.spec.actionSpace.n).toBe(true);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'manip-critic-'));
    try {
      await agent.save(dir);
      const loaded = await loadCriticAgent(dir, env.spec, { seed: 0, model: env.model });
      const q1 = agent.qMaps(obs);
      const q2 = loaded.qMaps(obs);
      expect(Array.from(q2[1][3].subarray(0, 200))).toEqual(Array.from(q1[1][3].subarray(0, 200)));
      loaded.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
      agent.dispose();
      env.close();
    }
  });

  it('testTimeUpdates: the critic trains on each executed motion (its weights move after the second act; a frozen agent keeps them) and reset restores the loaded weights', async () => {
    const env = await createEnv('manip-clutter', { seed: 0 });
    const agent = await createCriticAgent(env.spec, { seed: 0, model: env.model }, { testTimeUpdates: true });
    const frozen = await createCriticAgent(env.spec, { seed: 0, model: env.model });
    try {
      const { obs } = env.reset({ seed: 3 });
      agent.reset();
      const before = agent.critic.getWeights();
      const q0 = agent.qMaps(obs);
      const d = agent.decide(obs, q0);
      // act() on the first observation learns nothing (no motion yet); on the next it trains the first motion.
      agent.reset();
      agent.act(obs);
      expect(agent.critic.getWeights()).toEqual(before);
      const r = env.step(d.action);
      agent.act(r.obs);
      const after = agent.critic.getWeights();
      expect(after).not.toEqual(before);
      // The frozen agent with the same seed never changes its weights.
      frozen.act(obs);
      frozen.act(r.obs);
      expect(frozen.critic.getWeights()).toEqual(before);
      agent.reset();
      expect(agent.critic.getWeights()).toEqual(before);
    } finally {
      agent.dispose();
      frozen.dispose();
      env.close();
    }
  });

  it('coordinator off (the default): push or grasp by the larger Q, as before any fit, even when a fitted coordinator says grasp', async () => {
    const env = await createEnv('manip-clutter', { seed: 0 });
    const fitted = await createCriticAgent(env.spec, { seed: 0, model: env.model }, { coordinator: true });
    const off = await createCriticAgent(env.spec, { seed: 0, model: env.model });
    const unfitted = await createCriticAgent(env.spec, { seed: 0, model: env.model });
    try {
      // A coordinator that has only ever seen successful grasps: it says grasp everywhere.
      const X = Array.from({ length: 32 }, (_, i) => [i / 32, 1 - i / 32, i / 64, 1, 0]);
      for (const a of [fitted, off]) {
        a.coordinator.fit(X, X.map(() => 1), 200);
        a.coordinatorFitted = true;
      }
      const { obs } = env.reset({ seed: 5 });
      const q = unfitted.qMaps(obs);
      const byQ = unfitted.decide(obs, q);
      expect(byQ.primitive).toBe(0); // on this scene the untrained maps favour a push: the two rules differ
      expect(fitted.decide(obs, q).primitive).toBe(1);
      expect(off.decide(obs, q)).toEqual(byQ);
    } finally {
      for (const a of [fitted, off, unfitted]) a.dispose();
      env.close();
    }
  });

  it('rules are options: with them a grasp lands on the target, without them it may land anywhere; a bad option names its field', async () => {
    const env = await createEnv('manip-clutter', { seed: 0 });
    const withRules = await createCriticAgent(env.spec, { seed: 0, model: env.model });
    const without = await createCriticAgent(env.spec, { seed: 0, model: env.model }, NO_RULES);
    try {
      const { obs } = env.reset({ seed: 5 });
      const n = 64 * 64;
      const onTarget = (d: { primitive: number; pixel: number }) => d.primitive === 0 || obs[2 * n + d.pixel] > 0.5;
      expect(onTarget(withRules.decide(obs))).toBe(true);
      expect(without.rules).toEqual(NO_RULES);
      // Without rules, the choice is the raw argmax over all pixels of both maps.
      const q = without.qMaps(obs);
      let best = -Infinity;
      for (const m of q) for (const r of m) for (const v of r) best = Math.max(best, v);
      const d = without.decide(obs, q);
      expect(q[d.primitive][d.rotation][d.pixel]).toBe(best);
      await expect(createCriticAgent(env.spec, { seed: 0, model: env.model }, { targetGrasps: 'yes' } as never)).rejects.toThrow(/targetGrasps/);
    } finally {
      withRules.dispose();
      without.dispose();
      env.close();
    }
  });
});

describe("the coordinator's own stage (fitCoordinator)", () => {
  it('records coin-flip grasps of the frozen critic, fits a fresh coordinator on their outcomes and leaves the critic as it was', async () => {
    const { fitCoordinator } = await import('./train-critic.js');
    const env = await createEnv('manip-dense', { seed: 0 });
    const agent = await createCriticAgent(env.spec, { seed: 0, model: env.model });
    try {
      const criticBefore = JSON.stringify(agent.critic.getWeights());
      const coordBefore = JSON.stringify(agent.coordinator.getWeights());
      const report = await fitCoordinator(agent, env, { sceneName: 'manip-dense', seed: 2, motions: 80, epochs: 50 });
      expect(report.labels).toBeGreaterThan(5);
      expect(report.graspSuccessRate).toBeGreaterThan(0);
      expect(report.graspSuccessRate).toBeLessThan(1);
      expect(report.balancedAccuracy).toBeGreaterThanOrEqual(0);
      expect(agent.coordinatorFitted).toBe(true);
      expect(agent.coinFlipPrimitive).toBe(false);
      expect(JSON.stringify(agent.critic.getWeights())).toBe(criticBefore);
      expect(JSON.stringify(agent.coordinator.getWeights())).not.toBe(coordBefore);
      // Too few motions for both outcomes: refused by name, nothing fitted.
      await expect(fitCoordinator(agent, env, { sceneName: 'manip-dense', seed: 2, motions: 1 })).rejects.toThrow(/both outcomes are needed/);
    } finally {
      agent.dispose();
      env.close();
    }
  }, 120_000);
});
