import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MqttClient } from 'mqtt';
import { connectClient, endClient } from '../hardware/client.js';
import { BENCH_ROBOTS, ensureMosquitto, type MosquittoCredentials } from '../hardware/fixtures.js';
import { jsonCodec, makeEnvelope, SeqCounter, topicFor } from '../hardware/protocol.js';
import { createEnv } from '../sim/registry.js';
import { percentile, table, writeBenchResult } from './results-io.js';

/**
 * `embody bench bridge`: the MQTT ground station under load, through Mosquitto (the CI one,
 * started by hardware/mosquitto/start-ci.sh, with its password file and ACL).
 *
 * - Round trip state → cmd for one robot at 50 Hz and 100 Hz: a probe robot publishes the
 *   UAV state; the bridge (a separate `embody bridge` process) parses it, builds the
 *   observation, runs a 256×256 MLP policy, applies the safety layer and publishes cmd; the
 *   probe times the answer. With TCP no-delay on (our default) and off, to show its effect.
 * - Fleet: N probe robots at 20 Hz each against one bridge process; N grows until the p99
 *   round trip reaches 20 ms or answers go missing. Probes run in this process (one MQTT
 *   connection each, as the ACL requires), so their own load counts against the figure.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface ProbeResult {
  sent: number;
  answered: number;
  rtts: number[];
}

async function makeBenchPolicy(dir: string): Promise<{ inferenceUs: number }> {
  const env = await createEnv('uav-small', { seed: 0 });
  const { savePolicy, loadPolicy, mlpSpec, weightShapes } = await import('../controllers/policy/index.js');
  const { Rng } = await import('../src/core/rng.js');
  const spec = mlpSpec({ inputSize: env.spec.observationSpace.size, hidden: [256, 256], outputSize: 6 });
  const rng = new Rng(0);
  const weights = weightShapes(spec).map((s) => {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const fanIn = s.shape.length > 1 ? s.shape[0] : 1;
    return Float32Array.from({ length: n }, () => (s.shape.length > 1 ? rng.normal(0, 1 / Math.sqrt(fanIn)) : 0));
  });
  await savePolicy(dir, { kind: 'sac', taskId: env.spec.id, scene: 'uav-small', observationSpace: env.spec.observationSpace, actionSpace: env.spec.actionSpace, network: { spec, weights }, head: 'tanh-gaussian-mean' });
  const { controller } = await loadPolicy(dir, { spec: env.spec });
  const obs = env.reset({ seed: 0 }).obs;
  for (let i = 0; i < 500; i++) controller.act(obs);
  const n = 5000;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) controller.act(obs);
  const inferenceUs = ((performance.now() - t0) / n) * 1000;
  env.close();
  return { inferenceUs };
}

/** Start `embody bridge` serving every robot, as its own process. */
async function startBridgeProcess(creds: MosquittoCredentials, policyDir: string, pwFile: string, noDelay: boolean): Promise<ChildProcess> {
  const args = [
    path.join(ROOT, 'bin', 'embody.js'),
    'bridge',
    '--broker',
    `mqtt://127.0.0.1:${creds.port}`,
    '--robot',
    '*',
    '--controller',
    policyDir,
    '--scene',
    'uav-small',
    '--username',
    creds.bridge.username,
    '--password-file',
    pwFile,
    ...(noDelay ? [] : ['--no-tcp-nodelay']),
  ];
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (stderrOf.set(child, (stderrOf.get(child) ?? '') + d.toString())));
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`bridge process did not start: ${err}`)), 60_000);
    child.stderr!.on('data', (d) => {
      err += d.toString();
      if (err.includes('bridge: serving')) {
        clearTimeout(t);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`bridge process exited (${code}): ${err}`)));
  });
  return child;
}

const stderrOf = new WeakMap<ChildProcess, string>();

/** Stop a bridge process; returns its handling-time line (p50/p99 per state, inside the bridge). */
async function stopProcess(child: ChildProcess): Promise<{ handleP50Ms?: number; handleP99Ms?: number }> {
  if (child.exitCode === null) {
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    });
  }
  const m = /handling time .* p50 ([\d.]+) ms, p99 ([\d.]+) ms/.exec(stderrOf.get(child) ?? '');
  return m ? { handleP50Ms: Number(m[1]), handleP99Ms: Number(m[2]) } : {};
}

/** N robots publishing state at `rateHz` for `durationMs` (after `warmupMs`), timing each cmd. */
async function probe(clients: { id: string; client: MqttClient }[], state: Record<string, unknown>, rateHz: number, durationMs: number, warmupMs: number): Promise<ProbeResult> {
  const periodMs = 1000 / rateHz;
  const res: ProbeResult = { sent: 0, answered: 0, rtts: [] };
  const timers: NodeJS.Timeout[] = [];
  const handlers: [MqttClient, (t: string, p: Buffer) => void][] = [];
  let measuring = false;
  await Promise.all(
    clients.map(async ({ id, client }, i) => {
      const sentAt = new Map<number, number>();
      const seq = new SeqCounter();
      const onMsg = (_t: string, p: Buffer) => {
        const t1 = performance.now();
        const m = JSON.parse(p.toString());
        const t0 = sentAt.get(m.payload?.stateSeq);
        if (t0 === undefined) return;
        sentAt.delete(m.payload.stateSeq);
        if (measuring) {
          res.answered++;
          res.rtts.push(t1 - t0);
        }
      };
      client.on('message', onMsg);
      handlers.push([client, onMsg]);
      await client.subscribeAsync(topicFor(id, 'cmd'), { qos: 0 });
      const topic = topicFor(id, 'state');
      const send = () => {
        const s = seq.next();
        const bytes = jsonCodec.encode(makeEnvelope('state', id, s, { state }));
        sentAt.set(s, performance.now());
        if (measuring) res.sent++;
        if (sentAt.size > 1000) sentAt.clear();
        client.publish(topic, bytes, { qos: 0 });
      };
      // Spread the robots over the period so they do not all publish at once.
      setTimeout(() => timers.push(setInterval(send, periodMs)), (i / clients.length) * periodMs);
    }),
  );
  await new Promise((r) => setTimeout(r, warmupMs));
  measuring = true;
  await new Promise((r) => setTimeout(r, durationMs));
  measuring = false;
  timers.forEach(clearInterval);
  await new Promise((r) => setTimeout(r, 200));
  for (const [c, h] of handlers) c.off('message', h);
  return res;
}

function summarise(r: ProbeResult) {
  return {
    sent: r.sent,
    answered: r.answered,
    answeredFraction: r.sent ? Math.min(1, r.answered / r.sent) : 0,
    p50Ms: r.rtts.length ? percentile(r.rtts, 50) : NaN,
    p95Ms: r.rtts.length ? percentile(r.rtts, 95) : NaN,
    p99Ms: r.rtts.length ? percentile(r.rtts, 99) : NaN,
    maxMs: r.rtts.length ? Math.max(...r.rtts) : NaN,
    loadavg1: os.loadavg()[0],
  };
}

async function connectRobots(creds: MosquittoCredentials, ids: string[], noDelay: boolean) {
  return Promise.all(
    ids.map(async (id) => ({ id, client: await connectClient({ url: `mqtt://127.0.0.1:${creds.port}`, username: id, password: creds.robotPassword, noDelay, clientId: `bench-${id}-${process.pid}` }) })),
  );
}

/**
 * The bridge's own work per state (decode, checks, parseState, observe, policy, safety,
 * encode), in process with no network: what bounds the robots per core, whatever the broker.
 * The MQTT client here is a stand-in that only records handlers and counts publishes.
 */
async function computePerState(policyDir: string, state: Record<string, unknown>, n: number): Promise<{ withPolicyUs: number; withoutPolicyUs: number }> {
  const { Bridge } = await import('../hardware/bridge.js');
  const { loadPolicy } = await import('../controllers/policy/index.js');
  const env = await createEnv('uav-small', { seed: 0 });
  const out: number[] = [];
  for (const usePolicy of [true, false]) {
    const controller = usePolicy ? (await loadPolicy(policyDir, { spec: env.spec })).controller : { kind: 'zero', reset() {}, act: () => new Float32Array(3) };
    let handler: ((t: string, p: Buffer) => void) | null = null;
    let published = 0;
    const client = { on: (_e: string, h: (t: string, p: Buffer) => void) => (handler = h), off() {}, subscribeAsync: async () => [], publish: () => void published++ };
    const bridge = new Bridge({ client: client as never, robots: '*', model: env.model, makeController: () => controller, policyId: 'bench', controlPeriodS: 0.2, gate: { maxAgeMs: 1e12 } });
    await bridge.start();
    const robots = 100;
    const msgs = Array.from({ length: n }, (_, i) => jsonCodec.encode(makeEnvelope('state', `r${i % robots}`, 1e12 + i, { state })));
    const topics = Array.from({ length: robots }, (_, i) => topicFor(`r${i}`, 'state'));
    const warm = Math.floor(n / 5);
    for (let i = 0; i < warm; i++) handler!(topics[i % robots], msgs[i]);
    await new Promise((r) => setTimeout(r, 20));
    const t0 = performance.now();
    for (let i = warm; i < n; i++) handler!(topics[i % robots], msgs[i]);
    await new Promise((r) => setImmediate(r));
    const dt = performance.now() - t0;
    if (published < n - robots) throw new Error(`compute bench: only ${published} of ${n} states answered`);
    out.push((dt / (n - warm)) * 1000);
  }
  env.close();
  return { withPolicyUs: out[0], withoutPolicyUs: out[1] };
}

export async function runBench(opts: { quick: boolean; outDir: string }) {
  const creds = await ensureMosquitto();
  const work = mkdtempSync(path.join(tmpdir(), 'embody-bench-bridge-'));
  const policyDir = path.join(work, 'policy');
  const pwFile = path.join(work, 'bridge.pw');
  writeFileSync(pwFile, creds.bridge.password, { mode: 0o600 });
  const children: ChildProcess[] = [];
  try {
    const { inferenceUs } = await makeBenchPolicy(policyDir);
    const env = await createEnv('uav-small', { seed: 0 });
    env.reset({ seed: 0 });
    const state = JSON.parse(JSON.stringify(env.state)) as Record<string, unknown>;
    env.close();
    const seconds = opts.quick ? 3 : 10;

    // 0. Compute per state, no network.
    const compute = await computePerState(policyDir, state, opts.quick ? 5000 : 20000);
    const perCore = Math.floor(1e6 / (20 * compute.withPolicyUs));
    console.log(
      `bridge work per state (no network): ${compute.withPolicyUs.toFixed(1)} µs with the 256×256 policy, ${compute.withoutPolicyUs.toFixed(1)} µs without; ` +
        `one core's compute alone would serve ≈ ${perCore} robots at 20 Hz`,
    );

    // 1. One robot, 50 and 100 Hz, no-delay on and off.
    const latency: Record<string, unknown>[] = [];
    for (const noDelay of [true, false]) {
      const bridge = await startBridgeProcess(creds, policyDir, pwFile, noDelay);
      children.push(bridge);
      const robots = await connectRobots(creds, [BENCH_ROBOTS[0]], noDelay);
      for (const hz of [50, 100]) {
        const s = summarise(await probe(robots, state, hz, seconds * 1000, 1000));
        latency.push({ rateHz: hz, tcpNoDelay: noDelay, ...s });
        console.log(`1 robot @ ${hz} Hz, no-delay ${noDelay ? 'on' : 'off'}: p50 ${s.p50Ms.toFixed(2)} ms, p99 ${s.p99Ms.toFixed(2)} ms, max ${s.maxMs.toFixed(2)} ms (${s.answered}/${s.sent})`);
      }
      await Promise.all(robots.map((r) => endClient(r.client)));
      const inside = await stopProcess(bridge);
      for (const row of latency) if (row.tcpNoDelay === noDelay) Object.assign(row, { bridgeHandling: inside });
    }

    // 2. Fleet at 20 Hz: grow N; the figure is the largest N with p99 < 20 ms and ≥ 99 % answered.
    const bridge = await startBridgeProcess(creds, policyDir, pwFile, true);
    children.push(bridge);
    const steps = opts.quick ? [1, 10, 25, 50, 100] : [1, 10, 25, 50, 75, 100, 150, 200, 250, 300];
    const fleet: Record<string, unknown>[] = [];
    let best = 0;
    const connected: { id: string; client: MqttClient }[] = [];
    for (const n of steps) {
      connected.push(...(await connectRobots(creds, BENCH_ROBOTS.slice(connected.length, n), true)));
      const s = summarise(await probe(connected, state, 20, (opts.quick ? 2 : 4) * 1000, 1000));
      const ok = s.p99Ms < 20 && s.answeredFraction >= 0.99;
      fleet.push({ robots: n, rateHz: 20, ...s, ok: ok ? 'yes' : 'no' });
      console.log(`${n} robots @ 20 Hz: p50 ${s.p50Ms.toFixed(2)} ms, p95 ${s.p95Ms.toFixed(2)} ms, p99 ${s.p99Ms.toFixed(2)} ms, max ${s.maxMs.toFixed(2)} ms, answered ${(100 * s.answeredFraction).toFixed(1)}%`);
      // The figure: the largest N such that it and every smaller N tried met the bar.
      if (ok && fleet.every((r) => r.ok === 'yes')) best = n;
      // Keep climbing past the first miss to show the curve, until it is clearly saturated.
      if (s.p99Ms > 200 || s.answeredFraction < 0.95) break;
    }
    await Promise.all(connected.map((r) => endClient(r.client)));
    const fleetInside = await stopProcess(bridge);
    console.log(`inside the fleet bridge: handling p50 ${fleetInside.handleP50Ms} ms, p99 ${fleetInside.handleP99Ms} ms per state`);

    // 3. No-delay's effect where writes pile up: one bridge socket carrying 25 robots' commands.
    const nagle: Record<string, unknown>[] = [];
    for (const noDelay of [false, true]) {
      const br = await startBridgeProcess(creds, policyDir, pwFile, noDelay);
      children.push(br);
      const robots = await connectRobots(creds, BENCH_ROBOTS.slice(0, 25), noDelay);
      const s = summarise(await probe(robots, state, 20, (opts.quick ? 2 : 5) * 1000, 1000));
      nagle.push({ robots: 25, rateHz: 20, tcpNoDelay: noDelay, ...s });
      console.log(`25 robots @ 20 Hz, no-delay ${noDelay ? 'on' : 'off'}: p50 ${s.p50Ms.toFixed(2)} ms, p99 ${s.p99Ms.toFixed(2)} ms`);
      await Promise.all(robots.map((r) => endClient(r.client)));
      await stopProcess(br);
    }

    // 4. Nagle's classic case: two small messages back to back from one socket (state then
    // event); the second may wait for the first one's ACK. Sender no-delay off vs on.
    const burst: Record<string, unknown>[] = [];
    for (const noDelay of [false, true]) {
      const rx = await connectClient({ url: `mqtt://127.0.0.1:${creds.port}`, ...creds.bridge });
      const [tx] = await connectRobots(creds, [BENCH_ROBOTS[0]], noDelay);
      const topic = topicFor(tx.id, 'state');
      const sentAt = new Map<string, number>();
      const lat: number[] = [];
      rx.on('message', (_t, p) => {
        const t0 = sentAt.get(p.subarray(0, 12).toString());
        if (t0 !== undefined) lat.push(performance.now() - t0);
      });
      await rx.subscribeAsync(topic, { qos: 0 });
      const n = opts.quick ? 100 : 400;
      for (let i = 0; i < n; i++) {
        const key = `b${String(i).padStart(11, '0')}`;
        tx.client.publish(topic, Buffer.from(`a${String(i).padStart(11, '0')}${'x'.repeat(300)}`), { qos: 0 });
        sentAt.set(key, performance.now());
        tx.client.publish(topic, Buffer.from(`${key}${'x'.repeat(300)}`), { qos: 0 });
        await new Promise((r) => setTimeout(r, 20));
      }
      await new Promise((r) => setTimeout(r, 300));
      const row = { tcpNoDelay: noDelay, messages: n, p50Ms: percentile(lat, 50), p99Ms: percentile(lat, 99), maxMs: Math.max(...lat) };
      burst.push(row);
      console.log(`second of two back-to-back messages, no-delay ${noDelay ? 'on' : 'off'}: p50 ${row.p50Ms.toFixed(2)} ms, p99 ${row.p99Ms.toFixed(2)} ms`);
      await endClient(rx);
      await endClient(tx.client);
    }

    console.log('\nstate → cmd round trip, one robot (Mosquitto, policy inference included)');
    console.log(table(latency.map((r) => ({ Hz: r.rateHz as number, noDelay: String(r.tcpNoDelay), p50Ms: r.p50Ms as number, p95Ms: r.p95Ms as number, p99Ms: r.p99Ms as number, maxMs: r.maxMs as number, answered: `${r.answered}/${r.sent}` }))));
    console.log('\nrobots served by one bridge process at 20 Hz');
    console.log(table(fleet.map((r) => ({ robots: r.robots as number, p50Ms: r.p50Ms as number, p95Ms: r.p95Ms as number, p99Ms: r.p99Ms as number, maxMs: r.maxMs as number, answered: `${(100 * (r.answeredFraction as number)).toFixed(1)}%`, ok: r.ok as string }))));
    console.log('\nTCP no-delay, 25 robots at 20 Hz');
    console.log(table(nagle.map((r) => ({ noDelay: String(r.tcpNoDelay), p50Ms: r.p50Ms as number, p99Ms: r.p99Ms as number, maxMs: r.maxMs as number }))));
    console.log(`\nhighest robot count with p99 < 20 ms at 20 Hz: ${best}${best === steps.at(-1) ? ' (the largest tried)' : ''}; policy inference ${inferenceUs.toFixed(1)} µs (256×256 MLP)`);
    const file = writeBenchResult(opts.outDir, opts.quick ? 'bridge-quick' : 'bridge', {
      broker: 'mosquitto 2.0 (loopback, password file + ACL, set_tcp_nodelay true)',
      policy: '256x256 MLP, tanh-gaussian-mean head, pure-JS inference',
      inferenceUs,
      computePerState: { ...compute, robotsPerCoreAt20Hz: perCore },
      loadavg: os.loadavg(),
      latency,
      fleet,
      fleetBridgeHandling: fleetInside,
      noDelayFleet25: nagle,
      noDelayBackToBack: burst,
      maxRobotsAt20HzP99Under20ms: best,
      largestTried: steps.at(-1),
    });
    console.log(`wrote ${file}`);
  } finally {
    for (const c of children) await stopProcess(c);
    rmSync(work, { recursive: true, force: true });
  }
}
