import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Controller } from '../src/core/controller.js';
import type { Fence, Point3, TaskModel } from '../sim/task.js';
import { createEnv } from '../sim/registry.js';
import type { NavState } from '../sim/navigation/model.js';
import { offlineWill, RobotAgent } from './agent.js';
import { Bridge } from './bridge.js';
import { connectClient, endClient } from './client.js';
import { SimDriver } from './devices/sim.js';
import { clearRetained, collect, mosquittoBroker, waitFor, type BrokerHandle } from './fixtures.js';

/**
 * Geofence for every task (issue 11): a controller that seeks the fence, driven over MQTT
 * through the CI Mosquitto (bridge → robot, both guards on), never takes the robot across
 * it, and every setpoint the guards replace is reported on `events`. The same controller
 * stepped without the guard does cross (UAV) or reach the wall (navigation), so the fence is
 * what stops it. The safety layer knows each task only through its TaskModel.
 */
let h: BrokerHandle;
let watcher: MqttClient;

beforeAll(async () => {
  h = await mosquittoBroker();
  watcher = await connectClient({ url: h.url, ...h.bridge, clientId: `fence-watch-${process.pid}` });
});
afterAll(async () => endClient(watcher, true));

/** How far inside the fence a point is (negative: outside), over the axes the fence bounds. */
function depthInside(fence: Fence, p: Point3, axes: number[]): number {
  if (fence.kind !== 'box') throw new Error('expected a box fence');
  return Math.min(...axes.map((i) => Math.min(p[i] - fence.min[i], fence.max[i] - p[i])));
}

interface Case {
  scene: string;
  robotId: string;
  seed: number;
  steps: number;
  /** Axes the fence bounds for this task (the ground robot has no z to leave). */
  axes: number[];
  seeker: (model: TaskModel<any, any>) => Controller;
}

const CASES: Case[] = [
  {
    // Full speed towards the nearest corner and up: the fence is 20 m away horizontally, 90 m up.
    scene: 'uav-small',
    robotId: 'r12',
    seed: 3,
    steps: 140,
    axes: [0, 1, 2],
    seeker: () => ({ kind: 'fence-seeker', reset() {}, act: () => Float32Array.of(-1, -1, 1) }),
  },
  {
    // Turn towards the nearest wall of the area and drive into it at full speed.
    scene: 'nav-waypoint',
    robotId: 'r13',
    seed: 1,
    steps: 120,
    axes: [0, 1],
    seeker: (model) => {
      const [Lx, Ly] = (model as unknown as { scene: { area: { size: [number, number] } } }).scene.area.size;
      return {
        kind: 'fence-seeker',
        privileged: true,
        reset() {},
        act(_obs: Float32Array, state?: unknown) {
          const [x, y, th] = (state as NavState).pose;
          const sides: [number, number][] = [
            [x, Math.PI],
            [Lx - x, 0],
            [y, -Math.PI / 2],
            [Ly - y, Math.PI / 2],
          ];
          const heading = sides.sort((a, b) => a[0] - b[0])[0][1];
          const err = Math.atan2(Math.sin(heading - th), Math.cos(heading - th));
          return Float32Array.of(Math.abs(err) < 0.3 ? 1 : 0, Math.max(-1, Math.min(1, 2 * err)));
        },
      };
    },
  },
];

/** The seeker stepped directly, with no guard: how deep inside the fence the robot stays at worst. */
async function unguarded(c: Case): Promise<{ worst: number; reason?: string }> {
  const env = await createEnv(c.scene, { seed: c.seed });
  const ctrl = c.seeker(env.model);
  let obs = env.reset({ seed: c.seed }).obs;
  let worst = Infinity;
  let reason: string | undefined;
  for (let n = 0; n < c.steps; n++) {
    const r = env.step(ctrl.act(obs, env.state));
    obs = r.obs;
    worst = Math.min(worst, depthInside(env.model.fence, env.model.position(env.state)!, c.axes));
    if (r.terminated || r.truncated) {
      reason = r.info.endReason as string | undefined;
      break;
    }
  }
  env.close();
  return { worst, reason };
}

describe('geofence for every task, over MQTT through Mosquitto', () => {
  for (const c of CASES) {
    it(`${c.scene}: a fence-seeking controller never crosses the fence, and each replacement is reported on events`, async () => {
      await clearRetained(watcher, c.robotId);
      const driver = await SimDriver.create({ scene: c.scene, seed: c.seed });
      const model = driver.model;
      const rc = await connectClient({ url: h.url, ...h.robot(c.robotId), will: offlineWill(c.robotId), clientId: `${c.robotId}-fence-${Date.now()}` });
      const agent = new RobotAgent({ client: rc, robotId: c.robotId, driver, model, controlPeriodS: driver.controlPeriod, mode: 'remote' });
      const bc = await connectClient({ url: h.url, ...h.bridge, clientId: `fence-bridge-${c.robotId}-${Date.now()}` });
      const bridge = new Bridge({ client: bc, robots: [c.robotId], model, makeController: () => c.seeker(model), policyId: 'fence-seeker', controlPeriodS: driver.controlPeriod });
      const events = await collect<'event'>(watcher, c.robotId, 'events');
      const states = await collect<'state'>(watcher, c.robotId, 'state');
      await bridge.start();
      await agent.start();
      try {
        await waitFor(() => states.messages.length >= c.steps || bridge.episodes.length > 0, 120_000, `${c.steps} states`);
        await bridge.close();
        const worst = Math.min(...states.messages.map((m) => depthInside(model.fence, model.position(model.parseState!(m.payload.state))!, c.axes)));
        expect(worst, 'the robot stays inside the fence').toBeGreaterThan(0);
        expect(bridge.episodes.map((e) => e.reason)).not.toContain('geofence');
        // Each replacement, by the bridge's guard or the robot's, is one `geofence` event on MQTT.
        const replaced = bridge.events.filter((e) => e.event.kind === 'geofence').length + agent.events.filter((e) => e.kind === 'geofence').length;
        expect(replaced).toBeGreaterThan(5);
        await waitFor(() => events.messages.filter((e) => e.payload.kind === 'geofence').length === replaced, 5000, `${replaced} geofence events on MQTT`);
        // Without the guard, the same controller crosses the fence, or drives into the wall.
        const raw = await unguarded(c);
        if (c.scene.startsWith('uav')) expect(raw.reason).toBe('geofence');
        else expect(raw.worst).toBeLessThan(worst);
        expect(raw.worst).toBeLessThan(worst);
      } finally {
        await events.stop();
        await states.stop();
        await agent.close();
        await endClient(rc, true);
        await endClient(bc, true);
        driver.close();
        await clearRetained(watcher, c.robotId);
      }
    }, 180_000);
  }
});
