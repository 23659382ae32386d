import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Frame, SceneDescription } from '../core/frames.js';
import { decodeFrame } from './frame-codec.js';
import { startLiveViewer } from './live.js';
import { startViewerServer, type ViewerServer } from './server.js';

const scene: SceneDescription = {
  scene: 'fixture',
  task: 'uav',
  bounds: [0, 0, 0, 100, 100, 50],
  bodies: [{ id: 0, name: 'uav', shape: 'sphere', size: [0.4], color: '#4a90d9', pose: [0, 0, 10, 0, 0, 0, 1], dynamic: true, role: 'uav' }],
  overlay: { devices: [{ name: 'd0', position: [50, 50, 1], rangeM: 30 }] },
};
const frameAt = (i: number, overlay: Record<string, unknown> = { remaining: [1 - i / 100], allocation: [0] }): Frame => ({
  t: i * 0.2,
  episode: 0,
  reward: 1,
  return: i,
  bodyIds: [0],
  poses: Float32Array.from([i, 2 * i, 10, 0, 0, 0, 1]),
  hud: { batteryPct: 100 - i },
  overlay,
});

/** A page stand-in: a WebSocket on /ws/live collecting what arrives. */
async function liveClient(url: string) {
  const ws = new WebSocket(url.replace('http', 'ws') + 'ws/live');
  const got = { scenes: [] as SceneDescription[], frames: [] as Frame[], ends: 0 };
  ws.on('message', (data, isBinary) => {
    if (isBinary) got.frames.push(decodeFrame(new Uint8Array(data as Buffer)));
    else {
      const msg = JSON.parse(String(data));
      if (msg.type === 'scene') got.scenes.push(msg.scene);
      if (msg.type === 'end') got.ends++;
    }
  });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  return { ws, got };
}

const until = async (cond: () => boolean, ms = 5000) => {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

let runsDir: string;
let server: ViewerServer;
beforeAll(async () => {
  runsDir = mkdtempSync(path.join(tmpdir(), 'embody-view-'));
  server = await startViewerServer({ port: 0, runsDir });
});
afterAll(async () => {
  await server.close();
  rmSync(runsDir, { recursive: true, force: true });
});

describe('viewer server', () => {
  it('serves the page, three.js, uPlot and mqtt.js from node_modules, and refuses path escapes', async () => {
    const get = (p: string) => fetch(server.url + p.replace(/^\//, ''));
    const page = await get('/');
    expect(await page.text()).toContain('"three": "/vendor/three/build/three.module.js"');
    for (const p of ['/vendor/three/build/three.module.js', '/vendor/three/examples/jsm/controls/OrbitControls.js', '/vendor/uplot/uPlot.esm.js', '/vendor/mqtt/mqtt.esm.js', '/web/main.js']) {
      const res = await get(p);
      expect(res.status, p).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/javascript/);
    }
    expect((await get('/web/../server.ts')).status).not.toBe(200);
    expect((await get('/web/%2e%2e/server.ts')).status).not.toBe(200);
    expect((await get('/api/runs/..%2F..%2Fetc/metrics')).status).toBe(400);
    expect(await (await get('/api/runs')).json()).toEqual([]);
  });

  it('a late joiner gets the scene, then frames; a run started with --view on a taken port publishes to it', async () => {
    server.broadcastScene(scene);
    const page = await liveClient(server.url);
    await until(() => page.got.scenes.length === 1);
    // `embody run --view <port>` while `embody view` holds the port: the run publishes.
    const run = await startLiveViewer({ port: server.port });
    expect(run.server).toBeNull();
    await run.describe({ ...scene, scene: 'published' });
    for (let i = 0; i < 20; i++) await run.frame(frameAt(i));
    await run.endEpisode!(0, { return: 20 });
    await until(() => page.got.frames.length === 20 && page.got.ends === 1);
    expect(page.got.scenes.map((s) => s.scene)).toEqual(['fixture', 'published']);
    expect(page.got.frames[19]).toEqual(frameAt(19));
    await run.close();
    page.ws.close();
  });

  it('never blocks on a slow client: frames for a client that is behind are dropped', async () => {
    const slow = await liveClient(server.url);
    const fast = await liveClient(server.url);
    await until(() => server.clientCount() >= 2);
    // The slow page stops reading: its socket buffers fill and the server skips it.
    (slow.ws as any)._socket.pause();
    const big = { blob: 'x'.repeat(50_000) };
    const N = 400; // 20 MB: more than the slow socket's kernel buffers plus our 1 MiB allowance
    let busy = 0;
    let sentToAll = 0;
    for (let i = 0; i < N; i++) {
      const t0 = performance.now();
      if (server.broadcastFrame(frameAt(i, big)) === 2) sentToAll++;
      busy += performance.now() - t0;
      await new Promise((r) => setTimeout(r, 1)); // the fast page keeps up
    }
    expect(server.stats.framesDropped).toBeGreaterThan(0);
    expect(sentToAll).toBeLessThan(N);
    expect(busy / N).toBeLessThan(5); // a broadcast costs an encode and a send, never a wait (ms)
    await until(() => fast.got.frames.length === N, 10_000);
    slow.ws.terminate();
    fast.ws.close();
  });
});
