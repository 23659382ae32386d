import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Frame, SceneDescription } from '../core/frames.js';
import { readEpisode } from '../record/mcap-reader.js';
import { roundPoses } from '../record/messages.js';
import { encodeFrame } from './frame-codec.js';
import { refusal } from './host-check.js';

/**
 * The viewer's HTTP + WebSocket server. It serves the page (src/viewer/web), three.js,
 * uPlot and mqtt.js straight from node_modules (the page's import map points at /vendor/),
 * a small JSON API over the run directories, and the live frame stream on /ws/live.
 */
const here = path.dirname(fileURLToPath(import.meta.url));
export const WEB_DIR = path.join(here, 'web');

function packageDir(name: string): string {
  const require = createRequire(import.meta.url);
  let dir = path.dirname(require.resolve(name));
  while (!existsSync(path.join(dir, 'package.json')) || path.basename(dir) === 'dist' || path.basename(dir) === 'build') dir = path.dirname(dir);
  return dir;
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.map': 'application/json; charset=utf-8',
};

/** Above this many queued bytes, a client skips frames rather than slowing the run. */
const MAX_BUFFERED_BYTES = 1 << 20;

export interface ViewerServerOptions {
  port?: number;
  host?: string;
  /** Directory of run directories for the replay and runs modes (default "runs"). */
  runsDir?: string;
  /**
   * The SceneDescription of a named scene, for telemetry mode (the page draws a robot's state
   * in its scene). The CLI passes one built from sim/; the viewer itself never imports sim/.
   */
  describeScene?: (name: string) => Promise<SceneDescription>;
  /** Host names (besides localhost and IP addresses) and page origins allowed in (see host-check.ts). */
  allowedHosts?: string[];
  allowedOrigins?: string[];
}

export interface ViewerServer {
  url: string;
  port: number;
  /** Send the scene to every client now, and to every client that connects later. */
  broadcastScene(scene: SceneDescription): void;
  /** Send a frame to every client that is keeping up; returns how many got it. */
  broadcastFrame(frame: Frame): number;
  broadcastEnd(episode: number, metrics: Record<string, number>): void;
  /** Bytes and frames sent, and frames dropped for slow clients, since start. */
  stats: { framesSent: number; framesDropped: number; bytesSent: number };
  clientCount(): number;
  close(): Promise<void>;
}

interface RunInfo {
  id: string;
  scene?: string;
  controller?: string;
  seed?: number;
  command?: string;
  createdAt?: string;
  metrics: boolean;
  episodes: string[];
  summary?: unknown;
}

function readJson(file: string): any {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Run directories under `runsDir` (those with a config.json or metrics.jsonl), newest first. */
export function listRuns(runsDir: string): RunInfo[] {
  if (!existsSync(runsDir)) return [];
  const runs: RunInfo[] = [];
  for (const id of readdirSync(runsDir).sort().reverse()) {
    const dir = path.join(runsDir, id);
    if (id.startsWith('.') || !statSync(dir).isDirectory()) continue;
    const config = readJson(path.join(dir, 'config.json'));
    const hasMetrics = existsSync(path.join(dir, 'metrics.jsonl'));
    if (!config && !hasMetrics) continue;
    const epDir = path.join(dir, 'episodes');
    const episodes = existsSync(epDir) ? readdirSync(epDir).filter((f) => f.endsWith('.mcap')).sort() : [];
    runs.push({
      id,
      scene: config?.scene,
      controller: config?.controller,
      seed: config?.seed,
      command: config?.command,
      createdAt: config?.createdAt,
      metrics: hasMetrics,
      episodes,
      summary: readJson(path.join(dir, 'summary.json')),
    });
  }
  return runs;
}

/** metrics.jsonl as rows; a torn last line (a crash mid-write) is skipped. */
export function readMetricsFile(file: string): Record<string, unknown>[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .flatMap((l) => {
      try {
        return [JSON.parse(l)];
      } catch {
        return [];
      }
    });
}

function send(res: ServerResponse, status: number, body: string | Buffer, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

function sendJson(res: ServerResponse, value: unknown, status = 200): void {
  send(res, status, JSON.stringify(value), MIME['.json']);
}

/** Serve `rel` from `root`, refusing anything that escapes it. */
function serveFile(res: ServerResponse, root: string, rel: string): void {
  const file = path.resolve(root, '.' + path.posix.normalize('/' + rel));
  if (!file.startsWith(root + path.sep) && file !== root) return send(res, 403, 'forbidden');
  if (!existsSync(file) || !statSync(file).isFile()) return send(res, 404, `not found: ${rel}`);
  res.writeHead(200, { 'content-type': MIME[path.extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
  createReadStream(file).pipe(res);
}

/** A safe single path segment (a run id or an episode file name). */
function segment(s: string): string | null {
  let d: string;
  try {
    d = decodeURIComponent(s);
  } catch {
    return null; // malformed percent-encoding: a bad request, not a server error
  }
  return /^[A-Za-z0-9._-]+$/.test(d) && d !== '.' && d !== '..' ? d : null;
}

export async function startViewerServer(options: ViewerServerOptions = {}): Promise<ViewerServer> {
  const runsDir = path.resolve(options.runsDir ?? 'runs');
  const host = options.host ?? '127.0.0.1';
  const vendor: Record<string, string> = {
    three: packageDir('three'),
    uplot: path.join(packageDir('uplot'), 'dist'),
    mqtt: path.join(packageDir('mqtt'), 'dist'),
  };
  let scene: SceneDescription | null = null;
  const stats = { framesSent: 0, framesDropped: 0, bytesSent: 0 };

  const api = async (req: IncomingMessage, res: ServerResponse, parts: string[]): Promise<void> => {
    if (parts[0] === 'info') return sendJson(res, { live: scene !== null, scene: scene?.scene ?? null, task: scene?.task ?? null, runsDir });
    if (parts[0] === 'scenes' && parts[1]) {
      const name = segment(parts[1]);
      if (!name) return send(res, 400, 'bad scene name');
      if (!options.describeScene) return send(res, 501, 'this server has no scene loader (start it with embody view)');
      try {
        return sendJson(res, await options.describeScene(name));
      } catch (err) {
        return send(res, 404, (err as Error).message);
      }
    }
    if (parts[0] !== 'runs') return send(res, 404, 'unknown api');
    if (parts.length === 1) return sendJson(res, listRuns(runsDir));
    const id = segment(parts[1] ?? '');
    if (!id) return send(res, 400, 'bad run id');
    const dir = path.join(runsDir, id);
    if (!existsSync(dir)) return send(res, 404, `no run ${id}`);
    if (parts[2] === 'metrics') return sendJson(res, readMetricsFile(path.join(dir, 'metrics.jsonl')));
    if (parts[2] === 'episodes' && parts[3]) {
      const name = segment(parts[3]);
      const file = name && path.join(dir, 'episodes', name);
      if (!file || !existsSync(file)) return send(res, 404, `no episode ${parts[3]}`);
      const ep = await readEpisode(file);
      return sendJson(res, { scene: ep.scene, metrics: ep.metrics, frames: ep.frames.map((f) => ({ ...f, poses: roundPoses(f.poses) })) });
    }
    return send(res, 404, 'unknown api');
  };

  const checks = { allowedHosts: options.allowedHosts, allowedOrigins: options.allowedOrigins };
  const server: Server = createServer((req, res) => {
    const denied = refusal(req, checks);
    if (denied) return send(res, 403, denied);
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://x');
      decodeURIComponent(url.pathname);
    } catch {
      return send(res, 400, 'malformed URL');
    }
    const p = url.pathname;
    const handle = async () => {
      if (p === '/' || p === '/index.html') return serveFile(res, WEB_DIR, 'index.html');
      if (p.startsWith('/web/')) return serveFile(res, WEB_DIR, p.slice(5));
      if (p.startsWith('/vendor/')) {
        const [, , pkg, ...rest] = p.split('/');
        const root = vendor[pkg];
        return root ? serveFile(res, root, rest.join('/')) : send(res, 404, 'unknown vendor package');
      }
      if (p.startsWith('/api/')) return api(req, res, p.slice(5).split('/').filter(Boolean));
      if (p === '/favicon.ico') return send(res, 204, '');
      return send(res, 404, `not found: ${p}`);
    };
    handle().catch((err) => {
      if (!res.headersSent) send(res, 500, String((err as Error).message ?? err));
      else res.destroy();
    });
  });

  // Two WebSocket endpoints: /ws/live for pages (read-only), /ws/publish for a run started
  // with --view while `embody view` already holds the port (it relays the run's stream).
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  const clients = new Set<WebSocket>();
  server.on('upgrade', (req, socket, head) => {
    let p: string;
    try {
      p = new URL(req.url ?? '/', 'http://x').pathname;
    } catch {
      return socket.destroy();
    }
    if (p !== '/ws/live' && p !== '/ws/publish') return socket.destroy();
    // Cross-site pages and rebinding host names get a 403 before the upgrade.
    const denied = refusal(req, checks);
    if (denied) {
      socket.end(`HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n${denied}\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => (p === '/ws/live' ? onViewer(ws) : onPublisher(ws)));
  });
  const onViewer = (ws: WebSocket) => {
    clients.add(ws);
    if (scene) ws.send(JSON.stringify({ type: 'scene', scene }));
    ws.on('close', () => clients.delete(ws));
    ws.on('error', () => clients.delete(ws));
  };
  const onPublisher = (ws: WebSocket) => {
    ws.on('message', (data, isBinary) => {
      const bytes = Buffer.isBuffer(data) ? data : Buffer.concat(Array.isArray(data) ? data : [Buffer.from(data as ArrayBuffer)]);
      if (isBinary) return void broadcastBytes(bytes);
      try {
        const msg = JSON.parse(bytes.toString('utf8'));
        if (msg.type === 'scene') broadcastScene(msg.scene);
        else if (msg.type === 'end') broadcastEnd(msg.episode, msg.metrics);
      } catch {
        /* not ours: ignore */
      }
    });
  };

  function broadcastScene(s: SceneDescription): void {
    scene = s;
    const msg = JSON.stringify({ type: 'scene', scene: s });
    for (const ws of clients) if (ws.readyState === ws.OPEN) ws.send(msg);
  }
  function broadcastEnd(episode: number, metrics: Record<string, number>): void {
    const msg = JSON.stringify({ type: 'end', episode, metrics });
    for (const ws of clients) if (ws.readyState === ws.OPEN) ws.send(msg);
  }
  function broadcastBytes(bytes: Uint8Array): number {
    let sent = 0;
    for (const ws of clients) {
      if (ws.readyState !== ws.OPEN) continue;
      // Never block the run: a client that has not drained its queue misses this frame.
      if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
        stats.framesDropped++;
        continue;
      }
      ws.send(bytes, { binary: true });
      sent++;
      stats.framesSent++;
      stats.bytesSent += bytes.byteLength;
    }
    return sent;
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port ?? 8080;
  const shownHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host;

  return {
    url: `http://${shownHost}:${port}/`,
    port,
    stats,
    clientCount: () => clients.size,
    broadcastScene,
    broadcastFrame(frame) {
      return clients.size === 0 ? 0 : broadcastBytes(encodeFrame(frame));
    },
    broadcastEnd,
    async close() {
      for (const ws of clients) ws.terminate();
      clients.clear();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive HTTP connections would hold close() open until they time out.
      server.closeAllConnections();
      await closed;
    },
  };
}
