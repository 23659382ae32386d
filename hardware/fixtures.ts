import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createScripted } from '../controllers/registry.js';
import { createEnv } from '../sim/registry.js';
import type { MqttClient } from 'mqtt';
import { startBroker, type EmbeddedBroker } from './broker.js';
import { decodeMessage, topicFor, type Channel, type Envelope, type MessageType } from './protocol.js';
import { portOpen } from './mosquitto/port-open.js';

/**
 * Shared set-up for the hardware tests and `embody bench bridge`: real brokers (aedes and
 * Mosquitto, with the shipped ACL) and a small learned policy artifact.
 */

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const START_CI_SCRIPT = path.join(HERE, 'mosquitto', 'start-ci.sh');

export interface BrokerHandle {
  name: 'aedes' | 'mosquitto';
  url: string;
  bridge: { username: string; password: string };
  robot(id: string): { username: string; password: string };
  close(): Promise<void>;
}

export interface MosquittoCredentials {
  port: number;
  restartPort: number;
  mosquitto: string;
  restartConf: string;
  bridge: { username: string; password: string };
  operator: { username: string; password: string };
  robotPassword: string;
}

export function mosquittoDir(): string {
  return process.env.EMBODY_MOSQUITTO_DIR ?? '/tmp/embody-mosquitto';
}


/**
 * The Mosquitto that `.ci/run` starts with hardware/mosquitto/start-ci.sh. When it is not
 * running, start it with that script (it needs the mosquitto package); when that is not
 * possible, throw: these tests never skip silently.
 */
export async function ensureMosquitto(): Promise<MosquittoCredentials> {
  const file = path.join(mosquittoDir(), 'credentials.json');
  const port = Number(process.env.EMBODY_MOSQUITTO_PORT ?? 18830);
  if (!(existsSync(file) && (await portOpen(port)))) {
    const r = spawnSync('bash', [START_CI_SCRIPT], { encoding: 'utf8', env: process.env });
    if (r.status !== 0) {
      throw new Error(
        `Mosquitto is required for these tests and could not be started.\n` +
          `Install it (apt-get install -y mosquitto) and run: bash hardware/mosquitto/start-ci.sh\n${r.stderr || r.stdout || r.error?.message || ''}`,
      );
    }
  }
  const creds = JSON.parse(readFileSync(file, 'utf8')) as MosquittoCredentials;
  if (!(await portOpen(creds.port))) throw new Error(`Mosquitto from ${file} is not listening on 127.0.0.1:${creds.port}`);
  return creds;
}

export async function mosquittoBroker(): Promise<BrokerHandle> {
  const c = await ensureMosquitto();
  return {
    name: 'mosquitto',
    url: `mqtt://127.0.0.1:${c.port}`,
    bridge: c.bridge,
    robot: (id) => ({ username: id, password: c.robotPassword }),
    close: async () => {},
  };
}

/** The robot ids that have accounts on both test brokers. */
export const TEST_ROBOTS = Array.from({ length: 16 }, (_, i) => `r${i}`);
export const BENCH_ROBOTS = Array.from({ length: 300 }, (_, i) => `bench-${String(i).padStart(3, '0')}`);

/** aedes with the same users and ACL as the CI Mosquitto. */
export async function aedesBroker(port = 0): Promise<BrokerHandle & { broker: EmbeddedBroker }> {
  const pw = 'test-robot-password';
  const users: Record<string, { password: string; role: 'robot' | 'bridge' }> = { bridge: { password: 'test-bridge-password', role: 'bridge' } };
  for (const id of [...TEST_ROBOTS, ...BENCH_ROBOTS]) users[id] = { password: pw, role: 'robot' };
  const broker = await startBroker({ port, users });
  return {
    name: 'aedes',
    url: broker.url,
    broker,
    bridge: { username: 'bridge', password: 'test-bridge-password' },
    robot: (id) => ({ username: id, password: pw }),
    close: () => broker.close(),
  };
}

/** A Mosquitto child process of our own (for the test that kills the broker). */
export class OwnMosquitto {
  private proc: ChildProcess | null = null;
  constructor(private readonly creds: MosquittoCredentials) {}

  get url(): string {
    return `mqtt://127.0.0.1:${this.creds.restartPort}`;
  }

  async start(): Promise<void> {
    if (await portOpen(this.creds.restartPort)) {
      throw new Error(`port ${this.creds.restartPort} is taken (a leftover broker?); the broker-restart test needs it free`);
    }
    this.proc = spawn(this.creds.mosquitto, ['-c', this.creds.restartConf], { stdio: 'ignore' });
    for (let i = 0; i < 100; i++) {
      if (await portOpen(this.creds.restartPort)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`own mosquitto did not start on port ${this.creds.restartPort}`);
  }

  /** SIGKILL: no clean shutdown, as a crash or a power cut. */
  async kill(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGKILL');
    });
    this.proc = null;
  }
}

/**
 * A small learned policy for the UAV task: a linear map fitted by ridge regression to the
 * greedy controller's actions (behaviour cloning, closed form), saved as a real policy
 * artifact with savePolicy. Seconds to make, and it flies.
 */
export async function fitImitationPolicy(dir: string, options: { scene?: string; seed?: number; episodes?: number; lambda?: number } = {}): Promise<void> {
  const scene = options.scene ?? 'uav-small';
  const seed = options.seed ?? 0;
  const env = await createEnv(scene, { seed });
  const teacher = await createScripted('greedy', env.spec, { seed, model: env.model });
  const X: Float32Array[] = [];
  const Y: Float32Array[] = [];
  for (let ep = 0; ep < (options.episodes ?? 2); ep++) {
    let obs = env.reset(ep === 0 ? { seed } : {}).obs;
    teacher.reset();
    for (;;) {
      const a = teacher.act(obs) as Float32Array;
      X.push(obs);
      Y.push(Float32Array.from(a));
      const r = env.step(a);
      obs = r.obs;
      if (r.terminated || r.truncated) break;
    }
  }
  const n = env.spec.observationSpace.size;
  const m = env.spec.actionSpace.size;
  env.close();
  // Solve (XᵀX + λI) W = XᵀY with a bias column, by Gaussian elimination.
  const d = n + 1;
  const A = Array.from({ length: d }, () => new Float64Array(d));
  const B = Array.from({ length: d }, () => new Float64Array(m));
  for (let k = 0; k < X.length; k++) {
    const x = [...X[k], 1];
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) A[i][j] += x[i] * x[j];
      for (let j = 0; j < m; j++) B[i][j] += x[i] * Y[k][j];
    }
  }
  for (let i = 0; i < d; i++) A[i][i] += options.lambda ?? 1e-3;
  for (let c = 0; c < d; c++) {
    let p = c;
    for (let r = c + 1; r < d; r++) if (Math.abs(A[r][c]) > Math.abs(A[p][c])) p = r;
    [A[c], A[p]] = [A[p], A[c]];
    [B[c], B[p]] = [B[p], B[c]];
    for (let r = 0; r < d; r++) {
      if (r === c) continue;
      const f = A[r][c] / A[c][c];
      if (f === 0) continue;
      for (let j = c; j < d; j++) A[r][j] -= f * A[c][j];
      for (let j = 0; j < m; j++) B[r][j] -= f * B[c][j];
    }
  }
  const kernel = new Float32Array(n * m);
  const bias = new Float32Array(m);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < m; j++) {
      const w = B[i][j] / A[i][i];
      if (i < n) kernel[i * m + j] = w;
      else bias[j] = w;
    }
  }
  const { savePolicy } = await import('../controllers/policy/index.js');
  await savePolicy(dir, {
    kind: 'bc-linear',
    taskId: env.spec.id,
    scene,
    observationSpace: env.spec.observationSpace,
    actionSpace: env.spec.actionSpace,
    network: { spec: { inputSize: n, layers: [{ type: 'dense', units: m, activation: 'linear' }] }, weights: [kernel, bias] },
    head: 'gaussian-mean',
    extra: { fittedOn: `${X.length} greedy steps`, seed },
  });
}

// ---------------------------------------------------------------- helpers for the adversarial suites

export async function waitFor(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every valid message on one robot's channel, decoded, as a client sees them. */
export async function collect<T extends MessageType>(client: MqttClient, robotId: string, channel: Channel): Promise<{ messages: Envelope<T>[]; stop: () => Promise<void> }> {
  const topic = topicFor(robotId, channel);
  const messages: Envelope<T>[] = [];
  const on = (t: string, bytes: Buffer) => {
    if (t !== topic) return;
    const d = decodeMessage(bytes, { robotId, channel });
    if (d.ok) messages.push(d.msg as Envelope<T>);
  };
  client.on('message', on);
  await client.subscribeAsync(topic, { qos: 1 });
  return {
    messages,
    stop: async () => {
      client.off('message', on);
      await client.unsubscribeAsync(topic).catch(() => {});
    },
  };
}

/** Remove a robot's retained e-stop and status, so that one test's latch never leaks into the next. */
export async function clearRetained(client: MqttClient, robotId: string): Promise<void> {
  for (const c of ['estop', 'status'] as Channel[]) await client.publishAsync(topicFor(robotId, c), Buffer.alloc(0), { qos: 1, retain: true }).catch(() => {});
}
