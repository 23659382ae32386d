import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { MqttClient } from 'mqtt';
import type { Controller } from '../src/core/controller.js';
import type { EnvSpec } from '../src/core/env.js';
import { buildTaskModel, loadScene } from '../sim/registry.js';
import type { TaskModel } from '../sim/task.js';
import { offlineWill, RobotAgent } from './agent.js';
import { Bridge, type EpisodeSummary } from './bridge.js';
import { startBroker, type EmbeddedBroker } from './broker.js';
import { connectClient, credentialsFromEnv, endClient } from './client.js';
import { deployPolicy, policyIdOf } from './deploy-sender.js';
import { createDriver } from './devices/registry.js';
import { SimDriver } from './devices/sim.js';
import { sendEstop } from './estop-sender.js';
import { codecByName, robotIdSchema } from './protocol.js';

/**
 * The actions behind `embody bridge`, `embody agent` and `embody sim-device`
 * (src/cli/commands/*.ts only parse flags and call these).
 */

export const DEFAULT_BROKER_URL = 'mqtt://127.0.0.1:1883';

export interface ConnectFlags {
  broker?: string;
  username?: string;
  passwordFile?: string;
  insecure?: boolean;
}

function credentials(flags: ConnectFlags, defaultUser?: string): { username?: string; password?: string } {
  const env = credentialsFromEnv();
  const password = flags.passwordFile ? readFileSync(flags.passwordFile, 'utf8').trim() : env.password;
  const username = flags.username ?? env.username ?? (password ? defaultUser : undefined);
  return { username, password };
}

function checkRobotId(id: string): string {
  const r = robotIdSchema.safeParse(id);
  if (!r.success) throw new Error(`--robot "${id}": ${r.error.issues[0].message}`);
  return id;
}

/** Shutdown budget after SIGINT/SIGTERM: hold, final status, disconnect, exit. */
export const SHUTDOWN_MS = 2000;

/**
 * Resolves on the first SIGINT or SIGTERM. From then on the process has SHUTDOWN_MS to
 * clean up; a handle that keeps it alive longer (a stuck socket, a timer) does not stop the
 * exit. `cancel` detaches the handlers when the command ends by itself.
 */
export function onSignal(): { signalled: Promise<void>; cancel: () => void } {
  let cancel = () => {};
  const signalled = new Promise<void>((resolve) => {
    const stop = (sig: NodeJS.Signals) => {
      cancel();
      process.exitCode = sig === 'SIGINT' ? 130 : 143;
      setTimeout(() => process.exit(), SHUTDOWN_MS - 100).unref();
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    cancel = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    };
  });
  return { signalled, cancel };
}

/** Race `p` against a timeout: cleanup after a signal must fit the shutdown budget. */
function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  return Promise.race([p, new Promise<undefined>((r) => setTimeout(() => r(undefined), ms).unref())]);
}

/**
 * A scene's task model, its spec and timing: the robot-side half of the task, with no
 * simulator. The ground station and a real robot's agent need nothing more; only a simulated
 * robot (`--sim`, `--driver sim`) builds a Rapier world.
 */
export function taskModelOf(scene: string): { model: TaskModel<unknown, unknown>; spec: EnvSpec; controlPeriod: number } {
  const loaded = loadScene(scene).scene;
  const { model, controlPeriod, maxEpisodeSteps } = buildTaskModel(loaded);
  // The same spec as the TaskEnv of this scene (sim/task-env.ts), so controllers see no difference.
  const spec: EnvSpec = { id: model.id, scene: loaded.name, observationSpace: model.observationSpace, actionSpace: model.actionSpace, controlPeriod, maxEpisodeSteps };
  return { model, spec, controlPeriod };
}

export async function makeControllerFactory(ref: string, scene: string, options: Record<string, string> = {}): Promise<{ make: (id: string) => Promise<Controller>; policyId: string }> {
  const { createController, isPolicyDir } = await import('../controllers/load.js');
  // The controllers' own model: a controller may write to it (the planner's annotations).
  const { model, spec } = taskModelOf(scene);
  const policyId = isPolicyDir(ref) ? policyIdOf(ref) : `scripted:${ref}`;
  // Build one controller now, so that an unknown name or a policy trained for another task or
  // observation shape is refused at start-up with one clear message, before any cmd is sent.
  const probe = await createController(ref, spec, { seed: 0, model, options });
  probe.dispose?.();
  return { make: (id) => createController(ref, spec, { seed: hashSeed(id), model, options }), policyId };
}

function hashSeed(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h;
}

// ---------------------------------------------------------------- bridge

export interface BridgeFlags extends ConnectFlags {
  robot: string[];
  policy: string;
  scene: string;
  ttl: string;
  codec: string;
  rateLimit: boolean;
  port: string;
  wsPort?: string;
  wsOrigin?: string[];
  maxRobotsPerGlob?: string;
  deploy?: boolean;
  estop?: string;
  release?: string;
  sim?: string;
  seed: string;
  episodes?: string;
  json?: boolean;
  tcpNodelay?: boolean;
  /** From `--controller-opt key=value` (ControllerContext.options). */
  controllerOptions?: Record<string, string>;
}

export async function runBridgeCommand(flags: BridgeFlags): Promise<void> {
  const robots = flags.robot.length === 0 || flags.robot.includes('*') ? '*' : flags.robot.map((r) => (r.includes('*') ? r : checkRobotId(r)));
  let broker: EmbeddedBroker | null = null;
  let url = flags.broker;
  if (!url) {
    broker = await startBroker({ port: Number(flags.port), wsPort: flags.wsPort !== undefined ? Number(flags.wsPort) : undefined, wsOrigins: flags.wsOrigin?.length ? flags.wsOrigin : undefined });
    url = broker.url;
    process.stderr.write(`embedded MQTT broker (aedes) on ${broker.url}${broker.wsUrl ? ` and ${broker.wsUrl}` : ''}\n`);
  }
  const client = await connectClient({ url, ...credentials(flags, 'bridge'), insecure: flags.insecure, noDelay: flags.tcpNodelay !== false, clientId: `embody-bridge-${process.pid}` });
  const cleanup: (() => Promise<void>)[] = [async () => endClient(client), async () => broker?.close()];
  const sig = onSignal();
  try {
    if (flags.estop !== undefined || flags.release !== undefined) {
      if (robots === '*' || robots.some((r) => r.includes('*'))) throw new Error('--estop/--release need explicit --robot ids');
      const engage = flags.estop !== undefined;
      let failed = 0;
      for (const id of robots) {
        // Report what the robot says, never what we hoped: an ACL may drop the message, and a
        // robot refuses a release older than its latest engage.
        const r = await sendEstop(client, id, engage, flags.estop ?? flags.release ?? '');
        if (r.confirmed) console.log(`${id}: e-stop ${engage ? 'ENGAGED' : 'released'} (robot status: ${r.mode})`);
        else {
          failed++;
          console.log(`${id}: e-stop ${engage ? 'engage' : 'release'} NOT confirmed: ${r.mode === null ? 'no status from the robot within 3 s (offline, or the broker refused our message)' : `robot status says ${r.mode}${r.online === false ? ', offline' : ''}`}`);
        }
      }
      if (failed) process.exitCode = 2;
      return;
    }
    if (flags.deploy) {
      if (robots === '*' || robots.some((r) => r.includes('*'))) throw new Error('--deploy needs explicit --robot ids');
      for (const id of robots) {
        const r = await deployPolicy(client, id, flags.policy);
        console.log(`${id}: policy ${r.policyId} activated (${r.bytes} bytes, deployment ${r.deployId})`);
      }
      return;
    }
    const task = taskModelOf(flags.scene);
    const { make, policyId } = await makeControllerFactory(flags.policy, flags.scene, flags.controllerOptions);
    const simCount = flags.sim ? Number(flags.sim) : 0;
    const targetEpisodes = flags.episodes ? Number(flags.episodes) : undefined;
    let finish: () => void = () => {};
    const finished = new Promise<void>((r) => (finish = r));
    const done: EpisodeSummary[] = [];
    const onEpisode = (s: EpisodeSummary) => {
      done.push(s);
      if (flags.json) console.log(JSON.stringify(s));
      else console.log(`${s.robotId} episode ${s.index}: length ${s.length}, return ${s.return.toFixed(3)}, ${s.reason ?? ''} ${fmtMetrics(s.metrics)}`);
      if (targetEpisodes !== undefined && done.length >= targetEpisodes * Math.max(1, simCount || (robots === '*' ? 1 : robots.length))) finish();
    };
    const bridge = new Bridge({
      client,
      robots: simCount ? Array.from({ length: simCount }, (_, i) => `sim-${i}`) : robots,
      model: task.model,
      makeController: make,
      policyId,
      controlPeriodS: task.controlPeriod,
      ttlMs: Number(flags.ttl),
      codec: codecByName(flags.codec),
      rateLimit: flags.rateLimit,
      maxRobotsPerGlob: flags.maxRobotsPerGlob ? Number(flags.maxRobotsPerGlob) : undefined,
      onEpisode,
      log: (l) => process.stderr.write(l + '\n'),
    });
    await bridge.start();
    cleanup.unshift(() => bridge.close());
    // --sim n: n simulated robots in this process, on the same broker (a one-command demo).
    for (let i = 0; i < simCount; i++) {
      const id = `sim-${i}`;
      const driver = await SimDriver.create({ scene: flags.scene, seed: Number(flags.seed) + 1000 * i, episodes: targetEpisodes });
      const rc = await connectClient({ url, will: offlineWill(id), clientId: `embody-sim-${id}-${process.pid}` });
      const agent = new RobotAgent({ client: rc, robotId: id, driver, model: driver.model, controlPeriodS: driver.controlPeriod, mode: 'remote', rateLimit: flags.rateLimit });
      await agent.start();
      cleanup.unshift(async () => {
        await agent.close();
        await endClient(rc);
        driver.close();
      });
    }
    process.stderr.write(`bridge: serving ${simCount ? `${simCount} simulated robot(s)` : robots === '*' ? 'every robot' : robots.join(', ')} with ${policyId} (${flags.scene}); Ctrl-C to stop\n`);
    await Promise.race([finished, sig.signalled]);
    if (bridge.refusedRobots.size) process.stderr.write(`bridge: refused ${bridge.refusedRobots.size} robot id(s) beyond the per-glob cap\n`);
    if (bridge.handleMs.length) {
      const h = [...bridge.handleMs].sort((a, b) => a - b);
      const q = (p: number) => h[Math.min(h.length - 1, Math.floor(p * h.length))].toFixed(3);
      process.stderr.write(`bridge: answered ${bridge.cmdsSent} state(s); handling time (parse → observe → policy → safety → publish) p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${h[h.length - 1].toFixed(3)} ms\n`);
    }
    const rej = bridge.rejects.total;
    if (rej) process.stderr.write(`bridge: rejected ${rej} message(s): ${JSON.stringify(bridge.rejects.counts)}\n`);
  } finally {
    sig.cancel();
    // Agents first (hold + final status), then the bridge, the clients, the broker.
    await within(
      (async () => {
        for (const c of cleanup) await c().catch(() => {});
      })(),
      SHUTDOWN_MS - 300,
    );
  }
}

function fmtMetrics(m: Record<string, number>): string {
  return Object.entries(m)
    .map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(3)}`)
    .join(' ');
}

// ---------------------------------------------------------------- agent / sim-device

export interface AgentFlags extends ConnectFlags {
  robot: string;
  driver: string;
  scene?: string;
  seed: string;
  dataDir?: string;
  mode: 'auto' | 'policy' | 'remote';
  landAfter: string;
  episodes?: string;
  fast?: boolean;
  codec: string;
  rateLimit: boolean;
  realtimeHold?: boolean;
}

/** Which scene gives the TaskModel: --scene, else the one the persisted policy names. */
function sceneFor(flags: AgentFlags): string {
  if (flags.scene) return flags.scene;
  if (flags.dataDir) {
    try {
      const m = JSON.parse(readFileSync(path.join(flags.dataDir, 'policy', 'manifest.json'), 'utf8'));
      if (typeof m.scene === 'string') return m.scene;
    } catch {
      // no persisted policy
    }
  }
  throw new Error('--scene is needed (the task model and its limits come from the scene)');
}

export async function runAgentCommand(flags: AgentFlags): Promise<void> {
  const id = checkRobotId(flags.robot);
  const scene = sceneFor(flags);
  const seed = Number(flags.seed);
  const episodes = flags.episodes ? Number(flags.episodes) : undefined;
  const driver = await createDriver(flags.driver, { scene, seed, episodes });
  // A simulated robot and its agent share the world's model (the sim draws what a policy writes
  // to it); a real robot's agent builds the task model alone.
  const task = driver instanceof SimDriver ? { model: driver.model, controlPeriod: driver.controlPeriod } : taskModelOf(scene);
  const client: MqttClient = await connectClient({
    url: flags.broker ?? DEFAULT_BROKER_URL,
    ...credentials(flags, id),
    insecure: flags.insecure,
    will: offlineWill(id),
    clientId: `embody-agent-${id}`,
  });
  const agent = new RobotAgent({
    client,
    robotId: id,
    driver,
    model: task.model,
    controlPeriodS: task.controlPeriod,
    dataDir: flags.dataDir ?? path.join('.embody', 'agent', id),
    mode: flags.mode,
    landAfterMs: Number(flags.landAfter),
    pace: flags.fast ? 'fast' : 'realtime',
    holdClock: flags.realtimeHold ? 'realtime' : 'frozen',
    codec: codecByName(flags.codec),
    rateLimit: flags.rateLimit,
    log: (l) => process.stderr.write(`${new Date().toISOString()} ${l}\n`),
  });
  const sig = onSignal();
  await agent.start();
  process.stderr.write(
    `agent ${id}: driver ${driver.name}, scene ${scene}, mode ${flags.mode}, policy ${agent.policyId ?? '(none)'}, e-stop ${agent.estopEngaged ? 'ENGAGED' : 'clear'}; Ctrl-C to stop\n`,
  );
  let poll: NodeJS.Timeout | undefined;
  const finished = new Promise<void>((resolve) => {
    poll = setInterval(() => {
      if (agent.finished) resolve();
    }, 100);
  });
  await Promise.race([finished, sig.signalled]);
  clearInterval(poll);
  sig.cancel();
  // Hold and the final (retained) status, then disconnect: all within the shutdown budget.
  await within(agent.close(), SHUTDOWN_MS - 600);
  await within(endClient(client), 300);
  await driver.close?.();
  const episodesDone = driver instanceof SimDriver ? driver.episodesDone : 0;
  process.stderr.write(`agent ${id}: ${episodesDone} episode(s); rejected ${agent.rejects.total} message(s) ${JSON.stringify(agent.rejects.counts)}\n`);
}
