import WebSocket from 'ws';
import type { Frame, FrameSink, SceneDescription } from '../core/frames.js';
import { encodeFrame } from './frame-codec.js';
import { startViewerServer, type ViewerServer } from './server.js';

export type LiveViewer = FrameSink & {
  url: string;
  close(): Promise<void>;
  /** The server this process runs, or null when it publishes to an `embody view` already on the port. */
  server: ViewerServer | null;
};

/** Queued bytes above which a publisher drops frames instead of slowing the run. */
const MAX_BUFFERED_BYTES = 1 << 20;

/**
 * A FrameSink that serves the viewer page and streams the run to it: the scene once (JSON),
 * then binary frames (frame-codec.ts). It never waits for a browser: frames for a client
 * that is behind are dropped.
 *
 * If the port is taken by a running `embody view`, the run publishes to it over
 * /ws/publish instead, so one open page follows run after run.
 */
export async function startLiveViewer(opts: { port?: number; host?: string; runsDir?: string } = {}): Promise<LiveViewer> {
  let server: ViewerServer;
  try {
    server = await startViewerServer(opts);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    const publisher = await connectPublisher(opts.host ?? '127.0.0.1', opts.port ?? 8080);
    if (!publisher) throw err;
    return publisher;
  }
  return {
    url: server.url,
    server,
    describe(scene: SceneDescription) {
      server.broadcastScene(scene);
    },
    frame(frame: Frame) {
      server.broadcastFrame(frame);
    },
    endEpisode(episode: number, metrics: Record<string, number>) {
      server.broadcastEnd(episode, metrics);
    },
    close() {
      return server.close();
    },
  };
}

/** Publish to an `embody view` on host:port, if that is what holds the port. */
async function connectPublisher(host: string, port: number): Promise<LiveViewer | null> {
  const base = `http://${host}:${port}/`;
  try {
    const info = await (await fetch(`${base}api/info`, { signal: AbortSignal.timeout(2000) })).json();
    if (typeof info !== 'object' || info === null || !('live' in info)) return null;
  } catch {
    return null;
  }
  const ws = new WebSocket(`ws://${host}:${port}/ws/publish`, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.on('error', () => {}); // a viewer that goes away must not crash the run
  const sendText = (v: unknown) => ws.readyState === ws.OPEN && ws.send(JSON.stringify(v));
  return {
    url: base,
    server: null,
    describe(scene) {
      sendText({ type: 'scene', scene });
    },
    frame(frame) {
      if (ws.readyState === ws.OPEN && ws.bufferedAmount <= MAX_BUFFERED_BYTES) ws.send(encodeFrame(frame), { binary: true });
    },
    endEpisode(episode, metrics) {
      sendText({ type: 'end', episode, metrics });
    },
    async close() {
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) {
        await new Promise<void>((resolve) => {
          ws.once('close', () => resolve());
          ws.close();
          setTimeout(resolve, 1000).unref();
        });
      }
    },
  };
}
