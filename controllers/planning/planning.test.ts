import { describe, expect, it } from 'vitest';
import { createEnv, loadScene, validateSceneObject } from '../../sim/registry.js';
import { NoPathError } from '../../sim/navigation/grid.js';
import type { NavModel } from '../../sim/navigation/model.js';
import { runEpisodes } from '../../src/experiment/rollout.js';
import { NavAgent } from './agent.js';
import { Critic } from './critic.js';
import { cumulativeLengths, type Vec2 } from './geometry.js';
import { Navigator } from './navigator.js';
import { ActionGraph, Planner } from './planner.js';

function room(extra: Record<string, unknown> = {}) {
  return validateSceneObject({
    name: 'test-room',
    description: 'test room',
    task: 'navigation',
    area: { size: [8, 4] },
    walls: { segments: [
      { from: [0, 0], to: [8, 0] }, { from: [8, 0], to: [8, 4] }, { from: [8, 4], to: [0, 4] }, { from: [0, 4], to: [0, 0] },
      { from: [4, 0], to: [4, 4], doors: [{ name: 'door', at: 2, width: 0.9 }] },
    ] },
    places: [{ name: 'west', position: [1, 2] }, { name: 'east', position: [7, 2] }],
    goals: { count: 1, start: ['west'], from: ['east'], startJitter: 0 },
    maxEpisodeSteps: 400,
    ...extra,
  });
}

const thresholds = { rateHz: 2, correctCrossTrack: 0.2, replanCrossTrack: 0.45, headingError: 1.2, stallSeconds: 3, minProgress: 0.1 };

describe('critic', () => {
  const path: Vec2[] = [[0, 0], [6, 0]];
  const view = { path, cum: cumulativeLengths(path) };

  it('stays silent on a clean run along the path', () => {
    const critic = new Critic(thresholds);
    for (let k = 0; k <= 100; k++) {
      const t = k * 0.1;
      if (critic.due(t)) expect(critic.check(t, [0.5 * t, 0.01 * Math.sin(t), 0], view, { moving: true }).kind).toBe('ok');
    }
    expect(critic.events).toHaveLength(0);
    expect(critic.checks).toBeGreaterThan(15);
  });

  it('fires on an injected drift: first a corrective node, then a replan', () => {
    const critic = new Critic(thresholds);
    const kinds: string[] = [];
    for (let k = 0; k <= 100; k++) {
      const t = k * 0.1;
      // Drifting sideways at 0.1 m/s while moving along the path.
      if (critic.due(t)) kinds.push(critic.check(t, [0.5 * t, 0.1 * t, 0.2], view, { moving: true }).kind);
    }
    expect(kinds).toContain('correct');
    expect(kinds).toContain('replan');
    expect(kinds.indexOf('correct')).toBeLessThan(kinds.indexOf('replan'));
    expect(critic.events[0].crossTrack).toBeGreaterThan(0.2);
  });

  it('asks for a replan when progress stalls', () => {
    const critic = new Critic(thresholds);
    let last = 'ok';
    for (let k = 0; k <= 40 && last === 'ok'; k++) {
      const t = k * 0.1;
      if (critic.due(t)) last = critic.check(t, [1, 0.05, 0], view, { moving: true }).kind;
    }
    expect(last).toBe('replan');
    expect(critic.events[0].reason).toMatch(/no progress/);
  });

  it('drops a turn-to that stops closing its heading error (a turn-rate bias)', () => {
    const critic = new Critic(thresholds);
    let last = 'ok';
    for (let k = 0; k <= 60 && last === 'ok'; k++) {
      const t = k * 0.1;
      const err = Math.max(0.45, 1.2 - 0.3 * t); // converges to 0.45 rad and stays there
      if (critic.due(t)) last = critic.check(t, [0, 0, 0], view, { moving: false, turnError: err }).kind;
    }
    expect(last).toBe('skip');
    expect(critic.events.at(-1)!.reason).toMatch(/turn-to stuck/);
  });
});

describe('planner graph', () => {
  it('is editable while running: insert before the cursor, replace the rest of a leg', () => {
    const g = new ActionGraph();
    const a = g.add({ kind: 'go-to', leg: 0, target: [1, 0] });
    const b = g.add({ kind: 'wait', leg: 0, duration: 1 });
    const c = g.add({ kind: 'go-to', leg: 1, target: [2, 0] });
    g.setChain([a, b, c]);
    const fix = g.add({ kind: 'turn-to', leg: 0, heading: 1, corrective: true });
    g.insertBeforeCurrent(fix);
    expect(g.remaining().map((n) => n.id)).toEqual([fix.id, a.id, b.id, c.id]);
    g.advance();
    const r = g.add({ kind: 'go-to', leg: 0, target: [1, 1] });
    g.replaceLeg(0, [r]);
    expect(g.remaining().map((n) => n.id)).toEqual([r.id, c.id]);
    expect(a.status).toBe('dropped');
    g.skipTo(1);
    expect(g.current()!.id).toBe(c.id);
  });

  it('turns a goal sequence into turn-to, go-to and wait actions through the door', async () => {
    const env = await createEnv(room(), { seed: 0 });
    const model = env.model as NavModel;
    const planner = new Planner(new Navigator(model));
    planner.build([1, 0.6], [[7, 0.8], [1, 3]], ['east', 'back']);
    const kinds = planner.graph.remaining().map((n) => n.kind);
    expect(kinds[0]).toBe('turn-to');
    expect(kinds.filter((k) => k === 'go-to').length).toBeGreaterThanOrEqual(4);
    expect(kinds.filter((k) => k === 'wait')).toHaveLength(2);
    // The straight line would hit the wall: the path bends and crosses x = 4 inside the door (y ∈ [1.55, 2.45]).
    const path = planner.legs[0].path;
    expect(path.length).toBeGreaterThan(2);
    expect(path[path.length - 1]).toEqual([7, 0.8]);
    for (let k = 1; k < path.length; k++) {
      const [a, b] = [path[k - 1], path[k]];
      if ((a[0] - 4) * (b[0] - 4) >= 0) continue;
      const y = a[1] + ((4 - a[0]) / (b[0] - a[0])) * (b[1] - a[1]);
      expect(y).toBeGreaterThan(1.55 + 0.2);
      expect(y).toBeLessThan(2.45 - 0.2);
    }
    env.close();
  });

  it('a goal with no path gives a clear error naming it, not a hang', async () => {
    const env = await createEnv(room(), { seed: 0 });
    const model = env.model as NavModel;
    const nav = new Navigator(model);
    // Close the door on the navigator's map.
    nav.grid.markRect([4, 2], [0.6, 1.2]);
    const planner = new Planner(nav);
    const t0 = performance.now();
    expect(() => planner.build([1, 2], [[7, 2]], ['east'])).toThrow(NoPathError);
    expect(() => planner.build([1, 2], [[7, 2]], ['east'])).toThrow(/no path to "east"/);
    expect(performance.now() - t0).toBeLessThan(3000);
    env.close();
  });
});

describe('navigation agent in the simulator', () => {
  const run = async (scene: ReturnType<typeof room>, critic: boolean, seed: number, episodes = 1) => {
    const env = await createEnv(scene, { seed: 0 });
    const agent = new NavAgent(env.model as NavModel, env.spec, { critic });
    const res = await runEpisodes({ env, controller: agent, episodes, seed });
    const events = agent.critic?.events.map((e) => `${e.kind}@${e.t.toFixed(1)}`) ?? [];
    env.close();
    return { res, events };
  };

  it('reaches the goal through the door; the critic stays silent on a clean run', async () => {
    const { res, events } = await run(room(), true, 1);
    expect(res[0].endReason).toBe('all-goals');
    expect(res[0].metrics.spl).toBeGreaterThan(0.9);
    expect(res[0].metrics.collisions).toBe(0);
    expect(events).toEqual([]);
  });

  it('the critic fires on injected drift (turn bias and delay) and logs each decision', async () => {
    const noisy = room({ noise: { turnBias: 1.5, delay: 0.3, slip: 0.3 } });
    const { res, events } = await run(noisy, true, 1, 2);
    expect(events.length).toBeGreaterThan(0);
    expect(res.some((r) => r.metrics.corrections + r.metrics.replans > 0)).toBe(true);
  });

  it('the same seed gives the same task and the same result', async () => {
    const noisy = room({ noise: { turnBias: 0.5, delay: 0.2, slip: 0.2, speedBias: 0.1 } });
    const a = await run(noisy, true, 7);
    const b = await run(noisy, true, 7);
    expect(b.res.map((r) => ({ ...r, wallSeconds: 0 }))).toEqual(a.res.map((r) => ({ ...r, wallSeconds: 0 })));
    expect(b.events).toEqual(a.events);
  });
});

describe('navigation agent on a waypoint-observation scene (scenes/nav-waypoint.json)', () => {
  // nav-waypoint trains the low level: its observation is lidar + goal + speeds, no pose, no goal
  // index. The agent used to read them past the end and plan from a NaN start ("no path to
  // point-1: the start (NaN, NaN) is inside an obstacle"); now it is refused, saying why.
  it('refuses the scene at construction, naming the observation it needs; decodePose refuses the short observation', async () => {
    const { createNavPursuit, createNavPursuitCritic } = await import('./agent.js');
    const env = await createEnv(loadScene('nav-waypoint').scene, { seed: 0 });
    const model = env.model as NavModel;
    for (const make of [createNavPursuit, createNavPursuitCritic]) {
      expect(() => make(env.spec, { seed: 0, model })).toThrow(/scene "nav-waypoint" has the "waypoint" observation \(37 floats.*"observation": "full"/);
    }
    const { obs } = env.reset({ seed: 0 });
    expect(obs.length).toBe(model.lowLevelSize);
    expect(() => model.decodePose(obs)).toThrow(/no pose/);
    env.close();
  });
});

describe('learned follower', () => {
  it('feeds the policy the low-level observation with the goal replaced by the waypoint', async () => {
    const { LearnedFollower } = await import('./pursuit.js');
    const env = await createEnv(room(), { seed: 0 });
    const model = env.model as NavModel;
    const { obs } = env.reset({ seed: 0 });
    const seen: Float32Array[] = [];
    const policy = { kind: 'probe', reset() {}, act: (o: Float32Array) => (seen.push(o.slice()), new Float32Array([0.5, -0.5])) };
    const f = new LearnedFollower(model, policy);
    const pose = model.decodePose(obs);
    // A waypoint 1 m straight ahead of the robot.
    const wp: Vec2 = [pose[0] + Math.cos(pose[2]), pose[1] + Math.sin(pose[2])];
    expect(Array.from(f.act(obs, pose, wp))).toEqual([0.5, -0.5]);
    const n = model.rays;
    expect(seen[0].length).toBe(model.lowLevelSize);
    expect(seen[0][n]).toBeCloseTo(1 / model.scene.lidar.maxRange, 5);
    expect(seen[0][n + 1]).toBeCloseTo(1, 5);
    expect(seen[0][n + 2]).toBeCloseTo(0, 5);
    expect(Array.from(seen[0].subarray(0, n))).toEqual(Array.from(obs.subarray(0, n)));
    env.close();
  });
});

describe('learned low level (the committed SAC waypoint policy)', () => {
  it('drives planner + policy + critic through the door to the goal', async () => {
    const { createNavLearnedAgent } = await import('./agent.js');
    const dir = new URL('./policies/nav-waypoint-sac', import.meta.url).pathname;
    const env = await createEnv(room(), { seed: 0 });
    const agent = await createNavLearnedAgent(env.model as NavModel, env.spec, { policyDir: dir, critic: true });
    const res = await runEpisodes({ env, controller: agent, episodes: 1, seed: 3 });
    expect(agent.kind).toBe('nav-learned-critic');
    expect(res[0].endReason).toBe('all-goals');
    env.close();
  });
});
