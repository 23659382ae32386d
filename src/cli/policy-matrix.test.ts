import type { Fence } from '../../sim/task.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Controller } from '../core/controller.js';
import type { Action } from '../core/env.js';
import { Rng } from '../core/rng.js';
import { createEnv, loadScene } from '../../sim/registry.js';
import type { NavModel } from '../../sim/navigation/model.js';
import { createController } from '../../controllers/load.js';
import { createLearner } from '../../controllers/registry.js';
import { loadPolicy, saveScripted } from '../../controllers/policy/index.js';
import { runEpisodes } from '../experiment/rollout.js';
import { RobotAgent } from '../../hardware/agent.js';
import { Bridge } from '../../hardware/bridge.js';
import { loadPolicyArtifact, type PolicyLoader } from '../../hardware/deploy-receiver.js';
import { deployPolicy } from '../../hardware/deploy-sender.js';
import { startBroker, type EmbeddedBroker } from '../../hardware/broker.js';
import { connectClient, endClient } from '../../hardware/client.js';
import { makeControllerFactory, runBridgeCommand } from '../../hardware/cli.js';
import { SimDriver } from '../../hardware/devices/sim.js';

/**
 * One policy, every runtime: every controller kind × {`embody run`, `embody eval`, `embody bridge
 * --sim`, deployment to `embody agent` over MQTT (embedded aedes broker)}. Each runtime is driven
 * through the functions its command calls (run: createController + runEpisodes; eval: loadPolicy +
 * runEpisodes; bridge: makeControllerFactory + Bridge + a sim robot; agent: deployPolicy + RobotAgent
 * with the artifact loader), and records every (observation, action) its controller sees. With
 * the same seed, all four must record the same pairs, bit for bit.
 *
 * The artifacts are tiny and built here: learners trained for a few dozen steps, a DT trained a
 * few updates on random episodes and a CRDT fine-tuned from it with LoRA, a critic agent
 * (initialised), and the committed waypoint policy inside a navigation composite. Episodes are cut to a few
 * steps (scene copies with a short time limit) to keep the matrix fast.
 */

const tmp = mkdtempSync(path.join(tmpdir(), 'embody-matrix-'));
let broker: EmbeddedBroker;
const STEPS = 8;
const SEED = 11;

interface Case {
  kind: string;
  /** A scene copy with a short time limit (path), and one of another observation size. */
  scene: string;
  /** Scripted name or artifact directory, filled in beforeAll. */
  ref: string;
  /** A scene of another observation size (same task where one exists). */
  other: string;
}

/** Write a copy of a scene with `patch` applied; returns its path. */
function sceneCopy(name: string, patch: Record<string, unknown>): string {
  const { scene } = loadScene(name);
  const file = path.join(tmp, `${name}-short.json`);
  writeFileSync(file, JSON.stringify({ ...scene, name: `${name}-short`, ...patch }));
  return file;
}

/** A controller that records what it sees and does; reset() starts a new list. */
function recording(inner: Controller, log: { obs: Float32Array; action: Action }[][]): Controller {
  log.push([]);
  return {
    kind: inner.kind,
    privileged: inner.privileged,
    reset() {
      log.push([]);
      inner.reset();
    },
    act(obs, state) {
      const action = inner.act(obs, state);
      log[log.length - 1].push({ obs: obs.slice(), action: typeof action === 'number' ? action : action.slice() });
      return action;
    },
    observeReward: inner.observeReward ? (r) => inner.observeReward!(r) : undefined,
    dispose: () => inner.dispose?.(),
  };
}

/** The pairs of the one episode a runtime ran: the last non-empty list. */
function episodeOf(log: { obs: Float32Array; action: Action }[][]): { obs: Float32Array; action: Action }[] {
  const lists = log.filter((l) => l.length > 0);
  return lists[lists.length - 1] ?? [];
}

/**
 * Observations compared as float32 values, with +0 and −0 equal: telemetry travels as JSON,
 * which has no −0 (JSON.stringify(-0) is "0"). Actions are compared bit for bit.
 */
const values = (x: Float32Array) => Array.from(x, (v) => (v === 0 ? 0 : v));
const bits = (x: Float32Array | number) => (typeof x === 'number' ? String(x) : Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('hex'));

/**
 * The task model with its geofence lifted, for the bridge and robot side of the matrix only: the
 * fence's 1 m braking margin replaces early setpoints of a fresh policy near the floor, which
 * would (rightly) change the states that follow, and this test compares runtimes, not the guard
 * (hardware/safety.test.ts and hardware/integration.test.ts test the fence). Clamping stays on.
 */
function withoutFence<M extends { limits: { geofence?: number[] }; fence: Fence }>(model: M): M {
  const { geofence: _fence, ...limits } = model.limits;
  const fence: Fence = { kind: 'none', reason: 'lifted for the runtime-equality matrix' };
  return Object.create(model, { limits: { value: limits }, fence: { value: fence } }) as M;
}

async function untilTrue(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function viaRun(c: Case) {
  const env = await createEnv(c.scene, { seed: SEED });
  const log: { obs: Float32Array; action: Action }[][] = [];
  const controller = recording(await createController(c.ref, env.spec, { seed: SEED, model: env.model }), log);
  await runEpisodes({ env, controller, episodes: 1, seed: SEED });
  controller.dispose?.();
  env.close();
  return episodeOf(log);
}

async function viaEval(c: Case) {
  const env = await createEnv(c.scene, { seed: SEED });
  const log: { obs: Float32Array; action: Action }[][] = [];
  const controller = recording((await loadPolicy(c.ref, { spec: env.spec, context: { seed: SEED, model: env.model } })).controller, log);
  await runEpisodes({ env, controller, episodes: 1, seed: SEED });
  controller.dispose?.();
  env.close();
  return episodeOf(log);
}

async function viaBridge(c: Case, robotId: string) {
  const log: { obs: Float32Array; action: Action }[][] = [];
  const { make, policyId } = await makeControllerFactory(c.ref, c.scene);
  const driver = await SimDriver.create({ scene: c.scene, seed: SEED, episodes: 1 });
  const bc = await connectClient({ url: broker.url, clientId: `matrix-bridge-${robotId}` });
  const rc = await connectClient({ url: broker.url, clientId: `matrix-robot-${robotId}` });
  const bridge = new Bridge({ client: bc, robots: [robotId], model: withoutFence(driver.model), makeController: async (id) => recording(await make(id), log), policyId, controlPeriodS: driver.controlPeriod, rateLimit: false });
  const agent = new RobotAgent({ client: rc, robotId, driver, model: withoutFence(driver.model), controlPeriodS: driver.controlPeriod, mode: 'remote', rateLimit: false });
  try {
    await bridge.start();
    await agent.start();
    await untilTrue(() => driver.episodesDone >= 1, 60_000, `${c.kind} over the bridge`);
  } finally {
    await agent.close();
    await bridge.close();
    await endClient(rc);
    await endClient(bc);
    driver.close();
  }
  return episodeOf(log);
}

async function viaAgent(c: Case, robotId: string) {
  const log: { obs: Float32Array; action: Action }[][] = [];
  const loader: PolicyLoader = async (dir, target) => {
    const loaded = await loadPolicyArtifact(dir, target);
    return { ...loaded, controller: recording(loaded.controller, log) };
  };
  const driver = await SimDriver.create({ scene: c.scene, seed: SEED, episodes: 1 });
  const gc = await connectClient({ url: broker.url, clientId: `matrix-ground-${robotId}` });
  const rc = await connectClient({ url: broker.url, clientId: `matrix-agent-${robotId}` });
  const agent = new RobotAgent({ client: rc, robotId, driver, model: withoutFence(driver.model), controlPeriodS: driver.controlPeriod, mode: 'policy', pace: 'fast', rateLimit: false, loadPolicy: loader });
  try {
    await agent.start();
    await deployPolicy(gc, robotId, c.ref);
    await untilTrue(() => driver.episodesDone >= 1, 60_000, `${c.kind} deployed to the agent`);
  } finally {
    await agent.close();
    await endClient(rc);
    await endClient(gc);
    driver.close();
  }
  return episodeOf(log);
}

const cases: Case[] = [];

/** A few random-action episodes of `env` as an offline dataset (for a DT trained a few updates). */
function randomDataset(env: Awaited<ReturnType<typeof createEnv>>, episodes: number): import('../data/dataset.js').OfflineDataset {
  const rng = new Rng(5);
  const S = env.spec.observationSpace.size;
  const A = env.spec.actionSpace.size;
  const eps = Array.from({ length: episodes }, (_, id) => {
    const obs: number[] = Array.from(env.reset({ seed: 100 + id }).obs);
    const acts: number[] = [];
    const rewards: number[] = [];
    for (let t = 0; ; t++) {
      const a = Float32Array.from({ length: A }, () => rng.uniform(-1, 1));
      const r = env.step(a);
      acts.push(...a);
      rewards.push(r.reward);
      obs.push(...r.obs);
      if (r.terminated || r.truncated) {
        const T = t + 1;
        return {
          id, seed: 100 + id, source: 'random', observations: Float32Array.from(obs), actions: Float32Array.from(acts), rewards: Float64Array.from(rewards),
          terminations: Uint8Array.from({ length: T }, (_, i) => (i === T - 1 && r.terminated ? 1 : 0)),
          truncations: Uint8Array.from({ length: T }, (_, i) => (i === T - 1 && r.truncated ? 1 : 0)),
          endReason: String(r.info.endReason ?? ''), metrics: {},
        };
      }
    }
  });
  const meta = { datasetId: 'matrix/random-v0', taskId: env.spec.id, scene: env.spec.scene, obsDim: S, actDim: A, observationSpace: env.spec.observationSpace.toJSON(), actionSpace: env.spec.actionSpace.toJSON(), controlPeriod: env.spec.controlPeriod, maxEpisodeSteps: env.spec.maxEpisodeSteps };
  return { meta, episodes: eps };
}

beforeAll(async () => {
  broker = await startBroker({ port: 0 });
  const uav = sceneCopy('uav-small', { maxEpisodeSteps: STEPS });
  const cart = sceneCopy('cartpole', { maxEpisodeSteps: STEPS });
  const manip = sceneCopy('manip-mixed', { maxMotions: 2 });
  const nav = sceneCopy('nav-office', { maxEpisodeSteps: STEPS });
  const uavEnv = await createEnv(uav, { seed: 0 });

  // Scripted, as an artifact (runtime "scripted"), so that it deploys too.
  const scriptedDir = path.join(tmp, 'greedy');
  await saveScripted(scriptedDir, { name: 'greedy', spec: uavEnv.spec });
  cases.push({ kind: 'scripted', scene: uav, ref: scriptedDir, other: 'uav-city' });

  // MLP learners, trained a few dozen steps.
  const learners: [string, string, Record<string, unknown>, number][] = [
    ['sac', uav, { learningStarts: 16, batchSize: 16, hidden: [16, 16], normalizeObs: true }, 32],
    ['stac', uav, { learningStarts: 16, batchSize: 16, hidden: [16, 16], normalizeObs: true, dropout: 0.01, layerNorm: true }, 32],
    ['ppo', uav, { numEnvs: 1, numSteps: 16, batchSize: 8, nEpochs: 1, hidden: [16, 16], normalizeObs: true }, 16],
    ['dqn', cart, { learningStarts: 16, batchSize: 16, hidden: [16, 16], trainFreq: 1 }, 32],
  ];
  for (const [kind, scene, config, steps] of learners) {
    const learner = await createLearner(kind, { makeEnv: (s) => createEnv(scene, { seed: s }), seed: 0, config });
    await learner.learn(steps, { log() {}, episode() {} });
    const dir = path.join(tmp, kind);
    const env = await createEnv(scene, { seed: 0 });
    await learner.exportPolicy(dir, { runId: `matrix-${kind}`, scene: env.spec.scene, taskId: env.spec.id, task: env.taskParams(loadScene(scene).scene) });
    env.close();
    learner.dispose();
    cases.push({ kind, scene, ref: dir, other: kind === 'dqn' ? 'uav-small' : 'uav-city' });
  }

  // Decision transformer, trained a few updates on a tiny random dataset; then CRDT fine-tuned
  // from it with LoRA (merged at load).
  {
    const { trainDt } = await import('../../controllers/dt/train.js');
    const { saveDt } = await import('../../controllers/dt/artifact.js');
    const ds = randomDataset(uavEnv, 3);
    const arch = { K: 4, embed: 16, layers: 1, heads: 2, dropout: 0, updates: 4, batch: 8 };
    const dt = await trainDt(ds, arch, { seed: 0 });
    await saveDt(path.join(tmp, 'dt'), dt, { taskId: uavEnv.spec.id, scene: 'uav-small', kind: 'dt' });
    cases.push({ kind: 'dt', scene: uav, ref: path.join(tmp, 'dt'), other: 'uav-city' });
    const crdt = await trainDt(ds, { ...arch, eta: 1, loraRank: 2, loraAlpha: 4 }, { seed: 1, init: dt.rawWeights, lora: true });
    await saveDt(path.join(tmp, 'crdt-lora'), crdt, { taskId: uavEnv.spec.id, scene: 'uav-small', kind: 'crdt' });
    cases.push({ kind: 'crdt-lora', scene: uav, ref: path.join(tmp, 'crdt-lora'), other: 'uav-city' });
  }

  // Manipulation critic (initialised network; ε = 0 when loaded).
  {
    const { createCriticAgent } = await import('../../controllers/manipulation/agent.js');
    const env = await createEnv(manip, { seed: 0 });
    const agent = await createCriticAgent(env.spec, { seed: 0, model: env.model });
    const dir = path.join(tmp, 'manip-critic');
    await agent.save(dir);
    agent.dispose();
    env.close();
    cases.push({ kind: 'manip-critic', scene: manip, ref: dir, other: 'uav-small' });
  }

  // Navigation composite: planner + critic + the committed SAC waypoint follower.
  {
    const { saveNavComposite } = await import('../../controllers/planning/composite.js');
    const env = await createEnv(nav, { seed: 0 });
    const dir = path.join(tmp, 'nav-composite');
    const follower = new URL('../../controllers/planning/policies/nav-waypoint-sac', import.meta.url).pathname;
    await saveNavComposite(dir, { followerDir: follower, critic: true, lookahead: 1, spec: env.spec, model: env.model as NavModel });
    env.close();
    cases.push({ kind: 'nav-composite', scene: nav, ref: dir, other: 'nav-waypoint' });
  }
  uavEnv.close();
}, 120_000);

afterAll(async () => {
  await broker?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('one policy, every runtime', () => {
  it('every kind gives the same actions for the same observations in run, eval, bridge --sim and agent deployment', async () => {
    expect(cases.map((c) => c.kind)).toEqual(['scripted', 'sac', 'stac', 'ppo', 'dqn', 'dt', 'crdt-lora', 'manip-critic', 'nav-composite']);
    for (const [i, c] of cases.entries()) {
      const run = await viaRun(c);
      const evalPairs = await viaEval(c);
      const bridge = await viaBridge(c, `b-${i}`);
      const agent = await viaAgent(c, `a-${i}`);
      const expected = c.kind === 'manip-critic' ? 2 : STEPS;
      expect(run.length, `${c.kind}: steps in run`).toBe(expected);
      for (const [name, pairs] of [['eval', evalPairs], ['bridge', bridge], ['agent', agent]] as const) {
        expect(pairs.length, `${c.kind}: steps via ${name}`).toBe(run.length);
        for (let t = 0; t < run.length; t++) {
          expect(values(pairs[t].obs), `${c.kind} ${name} step ${t}: observation`).toEqual(values(run[t].obs));
          expect(bits(pairs[t].action), `${c.kind} ${name} step ${t}: action`).toBe(bits(run[t].action));
        }
      }
      // The policy acted (not a constant): some action differs from the first, or the kind is discrete.
      if (typeof run[0].action !== 'number') expect(run.some((p) => bits(p.action) !== bits(run[0].action)), `${c.kind}: actions vary`).toBe(true);
    }
  }, 240_000);
});

describe('shape refusal at start-up', () => {
  it('each kind, given a task of another observation size, is refused by run, eval, bridge and agent, naming both shapes, before any command', async () => {
    for (const [i, c] of cases.entries()) {
      const env = await createEnv(c.other, { seed: 0 });
      const own = await createEnv(c.scene, { seed: 0 });
      const shape = (s: typeof env.spec.observationSpace) => (s.kind === 'box' ? `[${s.shape.join(', ')}]` : `Discrete(${s.n})`);
      const ownShape = shape(own.spec.observationSpace);
      const otherShape = shape(env.spec.observationSpace);
      own.close();
      expect(ownShape).not.toBe(otherShape);
      const both = new RegExp(`${escape(ownShape)}.*${escape(otherShape)}`);
      // run (and collect): createController
      await expect(createController(c.ref, env.spec, { seed: 0, model: env.model }), `${c.kind}: run`).rejects.toThrow(both);
      // eval: loadPolicy
      await expect(loadPolicy(c.ref, { spec: env.spec, context: { seed: 0, model: env.model } }), `${c.kind}: eval`).rejects.toThrow(both);
      env.close();
      // bridge --sim 1: the command itself, which starts an embedded broker; it must stop before serving.
      await expect(runBridgeCommand({ robot: [], policy: c.ref, scene: c.other, ttl: '250', codec: 'json', rateLimit: true, port: '0', sim: '1', seed: '0', episodes: '1' }), `${c.kind}: bridge`).rejects.toThrow(both);
      // agent deployment: the agent refuses it, and nothing is sent to the device.
      const driver = await SimDriver.create({ scene: c.other, seed: 0, episodes: 1 });
      const gc = await connectClient({ url: broker.url, clientId: `refuse-ground-${i}` });
      const rc = await connectClient({ url: broker.url, clientId: `refuse-agent-${i}` });
      const agent = new RobotAgent({ client: rc, robotId: `r-${i}`, driver, model: driver.model, controlPeriodS: driver.controlPeriod, mode: 'policy', pace: 'fast' });
      try {
        await agent.start();
        await expect(deployPolicy(gc, `r-${i}`, c.ref), `${c.kind}: agent`).rejects.toThrow(both);
        await new Promise((r) => setTimeout(r, 50));
        expect(agent.executed.filter((e) => e.source === 'policy' || e.source === 'cmd'), `${c.kind}: nothing executed`).toEqual([]);
        expect(agent.policyId).toBeNull();
      } finally {
        await agent.close();
        await endClient(rc);
        await endClient(gc);
        driver.close();
      }
    }
  }, 120_000);
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
