import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { connectClient, endClient } from './client.js';
import { clearRetained, collect, mosquittoBroker, waitFor, type BrokerHandle } from './fixtures.js';

/**
 * Finding 6 of issue 19: SIGINT and SIGTERM stop `embody agent`, `sim-device`, `bridge` and
 * `view` within 2 s; the robot side holds and publishes a final status first. Real processes,
 * real Mosquitto.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const EMBODY = path.join(ROOT, 'bin', 'embody.js');
let h: BrokerHandle;
let watcher: MqttClient;
let work: string;
const procs: ChildProcess[] = [];

beforeAll(async () => {
  h = await mosquittoBroker();
  watcher = await connectClient({ url: h.url, ...h.bridge, clientId: `shutdown-watch-${process.pid}` });
  work = mkdtempSync(path.join(tmpdir(), 'embody-shutdown-'));
});

afterAll(async () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await endClient(watcher, true);
  rmSync(work, { recursive: true, force: true });
});

function start(args: string[], env: Record<string, string> = {}): { proc: ChildProcess; out: () => string } {
  let out = '';
  const proc = spawn(process.execPath, [EMBODY, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  procs.push(proc);
  return { proc, out: () => out };
}

/** Send `signal` and measure how long the process takes to exit. */
async function stopWith(proc: ChildProcess, signal: NodeJS.Signals): Promise<number> {
  const t0 = Date.now();
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  proc.kill(signal);
  await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  return proc.exitCode === null && proc.signalCode === null ? Infinity : Date.now() - t0;
}

describe('finding 6: clean shutdown on SIGINT/SIGTERM', () => {
  for (const [command, id, signal] of [
    ['agent', 'r9', 'SIGTERM'],
    ['sim-device', 'r11', 'SIGINT'],
  ] as const) {
    it(`embody ${command} exits within 2 s of ${signal}, after a hold and a final status`, async () => {
      await clearRetained(watcher, id);
      const status = await collect<'status'>(watcher, id, 'status');
      const { proc, out } = start([command, '--broker', h.url, '--robot', id, '--scene', 'uav-small', '--data-dir', path.join(work, id)], { EMBODY_MQTT_PASSWORD: h.robot(id).password });
      try {
        await waitFor(() => status.messages.some((m) => m.payload.online), 60_000, `${command} online (output: ${out()})`);
        const ms = await stopWith(proc, signal);
        expect(ms, out()).toBeLessThan(2000);
        // The agent's own final status (it names its driver; the broker's last will does not).
        await waitFor(() => status.messages.some((m) => !m.payload.online), 2000, 'the final status');
        const last = status.messages.at(-1)!.payload;
        expect(last).toMatchObject({ online: false, mode: 'stopped', driver: 'sim' });
      } finally {
        await status.stop();
      }
    }, 90_000);
  }

  it('embody bridge --sim 1 exits within 2 s of SIGINT', async () => {
    const { proc, out } = start(['bridge', '--sim', '1', '--port', '0', '--scene', 'uav-small', '--policy', 'greedy']);
    await waitFor(() => /bridge: serving/.test(out()), 60_000, `the bridge serving (output: ${out()})`);
    const ms = await stopWith(proc, 'SIGINT');
    expect(ms, out()).toBeLessThan(2000);
  }, 90_000);

  it('embody view exits within 2 s of SIGTERM, even with a viewer connected', async () => {
    const { proc, out } = start(['view', '--port', '0', '--runs', work]);
    await waitFor(() => /embody viewer at/.test(out()), 60_000, `the viewer up (output: ${out()})`);
    const port = /:(\d+)\//.exec(out())![1];
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/live`);
    await new Promise<void>((r, j) => {
      ws.once('open', () => r());
      ws.once('error', j);
    });
    const ms = await stopWith(proc, 'SIGTERM');
    ws.terminate();
    expect(ms, out()).toBeLessThan(2000);
  }, 90_000);
});
