import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { createMcapSinkInline, displayRates, type McapSink, type McapSinkOptions } from './inline-sink.js';
import { BATCH, FrameBatch, type WorkerOp, type WorkerReply, type WorkerRequest } from './worker-protocol.js';

export type { McapSink, McapSinkOptions } from './inline-sink.js';

interface SinkHandler {
  reply(msg: WorkerReply): void;
  fail(err: Error): void;
}

/**
 * One recording thread per process, shared by every sink: starting a worker costs ~200 ms,
 * and a fresh thread runs the encoder cold (interpreted) for its first few thousand frames,
 * at 2-3x the warm cost. Training opens a sink per evaluation, so a thread per sink paid
 * both each time. The thread is unref'd while no sink is open and ends after IDLE_MS idle.
 */
const IDLE_MS = 30_000;
let recorder: { worker: Worker; sinks: Map<number, SinkHandler>; idle: NodeJS.Timeout | null } | null = null;
let nextSinkId = 1;

function recorderThread() {
  if (recorder) {
    if (recorder.idle) clearTimeout(recorder.idle);
    recorder.idle = null;
    return recorder;
  }
  const worker = new Worker(new URL('./mcap-worker.mjs', import.meta.url));
  worker.unref(); // a run that never calls close() must still be able to exit
  const r = (recorder = { worker, sinks: new Map<number, SinkHandler>(), idle: null as NodeJS.Timeout | null });
  worker.on('message', (msg: WorkerReply) => r.sinks.get(msg.sink)?.reply(msg));
  const failAll = (err: Error) => {
    if (recorder === r) recorder = null;
    for (const h of r.sinks.values()) h.fail(err);
    r.sinks.clear();
  };
  worker.on('error', failAll);
  worker.on('exit', (code) => failAll(new Error(`mcap recorder worker exited (code ${code})`)));
  return r;
}

function releaseSink(id: number): void {
  const r = recorder;
  if (!r) return;
  r.sinks.delete(id);
  if (r.sinks.size) return;
  r.idle = setTimeout(() => {
    if (recorder === r && !r.sinks.size) {
      recorder = null;
      void r.worker.terminate();
    }
  }, IDLE_MS);
  r.idle.unref();
}

/**
 * A FrameSink writing `episodesDir/<nnnn>.mcap` per episode (n = Frame.episode), each file
 * written to a temp name and renamed into place when its episode ends.
 *
 * Encoding and writing run in the process's recording thread, so that recording costs the
 * run little (issue: <= 10%; see bench/viewer.ts): frame() packs the frame into the compact
 * binary layout of the live stream (a few µs) and returns; batches go to the thread as
 * transferred buffers. The display channels are written at `displayHz` of sim time (/tf,
 * default 30) and `overlayHz` (/overlay refreshes, default 1), /embody/frame at every frame. close() waits until every file is complete; errors surface there and
 * in flush(). `{ worker: false }` records on the calling thread instead.
 */
export function createMcapSink(episodesDir: string, options: McapSinkOptions = {}): McapSink {
  if (options.worker === false) return createMcapSinkInline(episodesDir, options);
  const { displayHz, overlayHz } = displayRates(options);
  const thread = recorderThread();
  const worker = thread.worker;
  const sinkId = nextSinkId++;
  const written: string[] = [];
  const waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  let ops: WorkerOp[] = [{ k: 'open', episodesDir: path.resolve(episodesDir), durable: options.durable ?? false, displayHz, overlayHz }];
  const frames = new FrameBatch();
  let nextId = 1;
  let failure: Error | null = null;
  let closed = false;

  const fail = (err: Error) => {
    failure ??= err;
    for (const w of waiting.values()) w.reject(failure);
    waiting.clear();
  };
  thread.sinks.set(sinkId, {
    fail,
    reply(msg) {
      if (msg.type === 'error') return fail(new Error(`mcap recorder: ${msg.error}`));
      written.splice(0, written.length, ...msg.written);
      const w = waiting.get(msg.id);
      waiting.delete(msg.id);
      if (!w) return;
      if (msg.error) w.reject(new Error(`mcap recorder: ${msg.error}`));
      else w.resolve();
    },
  });

  /** Move the pending frames into one ops entry, keeping call order. */
  const packPending = () => {
    if (!frames.count) return;
    ops.push({ k: 'frames', ...frames.take() });
  };
  const takeOps = (): [WorkerOp[], ArrayBuffer[]] => {
    packPending();
    const out = ops;
    ops = [];
    return [out, out.flatMap((op) => (op.k === 'frames' ? [op.buf] : []))];
  };
  const post = () => {
    const [list, transfer] = takeOps();
    if (list.length) worker.postMessage({ type: 'ops', sink: sinkId, ops: list } satisfies WorkerRequest, transfer);
  };
  const request = (type: 'flush' | 'close'): Promise<void> => {
    if (failure) return Promise.reject(failure);
    const id = nextId++;
    const done = new Promise<void>((resolve, reject) => waiting.set(id, { resolve, reject }));
    worker.ref(); // keep the process alive until the files are complete
    const [list, transfer] = takeOps();
    worker.postMessage({ type, sink: sinkId, id, ops: list } satisfies WorkerRequest, transfer);
    return done.finally(() => worker.unref());
  };
  const usable = (): Promise<void> | null => {
    if (failure) return Promise.reject(failure);
    if (closed) return Promise.reject(new Error('mcap sink: used after close()'));
    return null;
  };

  return {
    written,
    describe(scene) {
      const bad = usable();
      if (bad) return bad;
      packPending();
      ops.push({ k: 'describe', scene: JSON.parse(JSON.stringify(scene)) });
      return Promise.resolve();
    },
    frame(frame) {
      const bad = usable();
      if (bad) return bad;
      try {
        frames.add(frame);
      } catch (err) {
        return Promise.reject(err);
      }
      if (frames.count >= BATCH) post();
      return Promise.resolve();
    },
    endEpisode(episode, metrics) {
      const bad = usable();
      if (bad) return bad;
      packPending();
      ops.push({ k: 'end', episode, metrics: { ...metrics } });
      post();
      return Promise.resolve();
    },
    flush() {
      return request('flush');
    },
    async close() {
      if (closed) return;
      try {
        await request('close');
      } finally {
        closed = true;
        releaseSink(sinkId);
      }
    },
  };
}
