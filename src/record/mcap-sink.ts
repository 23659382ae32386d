import { mkdirSync, rmSync, writeSync } from 'node:fs';
import { open, rename, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { McapWriter, type IWritable } from '@mcap/core';
import { decodeFrameWithTail, encodeFrame } from './frame-codec.js';
import type { Frame, FrameSink, SceneDescription } from '../core/frames.js';
import { FOXGLOVE_OVERLAYS, frameTransformsJson, jsonNumber, sceneUpdateOfScene, timeOf, type FoxgloveOverlay } from './foxglove.js';
import { EMBODY_FRAME_SCHEMA, EMBODY_SCENE_SCHEMA, FRAME_TRANSFORMS_SCHEMA, SCENE_UPDATE_SCHEMA } from './schemas.js';

/**
 * Episode recording: one MCAP file per episode, `episodes/<nnnn>.mcap`, written to a temp file
 * and renamed into place when the episode ends, so a reader never sees half an episode.
 *
 * Topics (all JSON):
 *   /scene          foxglove.SceneUpdate       the bodies, once per episode
 *   /tf             foxglove.FrameTransforms   world → dynamic body, every frame
 *   /overlay        foxglove.SceneUpdate       task overlays for Foxglove, every frame
 *   /embody/scene   embody.SceneDescription    once per episode (what our replay reads)
 *   /embody/frame   embody.Frame               every frame (what our replay reads)
 * and a metadata record `embody.episode` with the episode's final metrics.
 */
export const TOPICS = {
  scene: '/scene',
  tf: '/tf',
  overlay: '/overlay',
  embodyScene: '/embody/scene',
  embodyFrame: '/embody/frame',
} as const;

export const EPISODE_METADATA = 'embody.episode';

export function episodeFileName(episode: number): string {
  return `${String(episode).padStart(4, '0')}.mcap`;
}

/** An IWritable over a file descriptor, with synchronous writes (McapWriter writes whole chunks). */
class FdWritable implements IWritable {
  private pos = 0n;
  constructor(readonly fd: number) {}
  async write(buffer: Uint8Array): Promise<void> {
    let off = 0;
    while (off < buffer.byteLength) off += writeSync(this.fd, buffer, off, buffer.byteLength - off);
    this.pos += BigInt(buffer.byteLength);
  }
  position(): bigint {
    return this.pos;
  }
}

const enc = new TextEncoder();
const json = (v: unknown) => enc.encode(JSON.stringify(v));

/** Round to 1e-5: Float32 poses as JSON otherwise print ~17 digits of noise. */
export function roundPoses(p: ArrayLike<number>): number[] {
  const out = new Array<number>(p.length);
  for (let i = 0; i < p.length; i++) out[i] = Math.round(p[i] * 1e5) / 1e5;
  return out;
}

/**
 * An embody.Frame as JSON text: the numbers written here, then `tail`, the frame's
 * `{"hud":…,"overlay":…}` JSON as the binary frame already carries it (so the recorder's
 * thread splices it in rather than parsing and re-serialising it).
 */
function embodyFrameJson(frame: Frame, poses: number[], tail: string): string {
  return `{"t":${jsonNumber(frame.t)},"episode":${frame.episode},"poses":[${poses.map(jsonNumber).join(',')}],"bodyIds":[${frame.bodyIds.join(',')}],"reward":${jsonNumber(frame.reward)},"return":${jsonNumber(frame.return)},${tail.slice(1)}`;
}

type ChannelKey = keyof typeof TOPICS;
interface Encoded {
  channel: ChannelKey;
  time: bigint;
  data: Uint8Array;
}

/** One open episode file. It only writes bytes; all encoding happens in the sink, synchronously. */
class EpisodeWriter {
  private writer!: McapWriter;
  private handle: FileHandle | null = null;
  private channels = {} as Record<ChannelKey, number>;
  private seq = 0;
  readonly tmp: string;
  frames = 0;

  constructor(
    readonly file: string,
    readonly episode: number,
  ) {
    this.tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  }

  async start(): Promise<void> {
    // Opening (creating) a file takes ~1 ms here: do it on the thread pool, not the run's thread.
    this.handle = await open(this.tmp, 'w');
    const w = (this.writer = new McapWriter({ writable: new FdWritable(this.handle.fd), chunkSize: 256 * 1024 }));
    await w.start({ profile: '', library: 'embody' });
    const schema = async (name: string, s: unknown) => w.registerSchema({ name, encoding: 'jsonschema', data: json(s) });
    const sceneUpdate = await schema('foxglove.SceneUpdate', SCENE_UPDATE_SCHEMA);
    const frameTransforms = await schema('foxglove.FrameTransforms', FRAME_TRANSFORMS_SCHEMA);
    const embodyScene = await schema('embody.SceneDescription', EMBODY_SCENE_SCHEMA);
    const embodyFrame = await schema('embody.Frame', EMBODY_FRAME_SCHEMA);
    const channel = (topic: string, schemaId: number) => w.registerChannel({ topic, schemaId, messageEncoding: 'json', metadata: new Map() });
    this.channels = {
      scene: await channel(TOPICS.scene, sceneUpdate),
      tf: await channel(TOPICS.tf, frameTransforms),
      overlay: await channel(TOPICS.overlay, sceneUpdate),
      embodyScene: await channel(TOPICS.embodyScene, embodyScene),
      embodyFrame: await channel(TOPICS.embodyFrame, embodyFrame),
    };
  }

  async write(messages: Encoded[], isFrame: boolean): Promise<void> {
    for (const m of messages) {
      await this.writer.addMessage({ channelId: this.channels[m.channel], sequence: this.seq++, logTime: m.time, publishTime: m.time, data: m.data });
    }
    if (isFrame) this.frames++;
  }

  async finish(last: Encoded[], metrics?: Record<string, number>): Promise<void> {
    await this.write(last, false);
    if (metrics) {
      const m = new Map(Object.entries(metrics).map(([k, v]) => [k, String(v)]));
      m.set('episode', String(this.episode));
      m.set('frames', String(this.frames));
      await this.writer.addMetadata({ name: EPISODE_METADATA, metadata: m });
    }
    await this.writer.end();
  }

  /**
   * Close and rename into place: the rename makes the file appear whole or not at all (a
   * crashed run never leaves half an episode under the final name). With `durable`, fsync
   * first (on the libuv thread pool): it survives power loss too, but an fsync takes 5-25 ms
   * here, as long as a whole short episode, so it is off by default for recordings.
   */
  async settle(durable: boolean): Promise<void> {
    if (durable) await this.handle!.sync();
    await this.handle!.close();
    this.handle = null;
    await rename(this.tmp, this.file);
  }

  abort(): void {
    const h = this.handle;
    this.handle = null;
    void h?.close().catch(() => {});
    rmSync(this.tmp, { force: true });
  }
}

export interface McapSinkOptions {
  /** Record in a worker thread (default true). */
  worker?: boolean;
  /** fsync each episode file before the rename (default false: atomic, but not power-loss safe). */
  durable?: boolean;
}

export interface McapSink extends FrameSink {
  /** Files written so far (complete episodes only). */
  readonly written: string[];
  /** Resolves when every queued write is done (and rejects if one failed). */
  flush(): Promise<void>;
}

/** The recorder on the calling thread. */
export interface InlineMcapSink extends McapSink {
  /** frame() with the frame's `{"hud":…,"overlay":…}` JSON already written (the recording thread has it from the binary frame). */
  frameWithTail(frame: Frame, tail: string): Promise<void>;
}

/** Queued jobs above which frame() makes its caller wait, so memory stays bounded. */
const MAX_QUEUED = 256;

/**
 * The recorder itself, on the calling thread: `createMcapSink` runs it in a worker thread.
 * Each frame is encoded before frame() returns (so the caller may reuse its buffers at
 * once), Foxglove overlays go out only when they change, and the file work is queued.
 * describe/frame/endEpisode return at once unless the queue is long; close() and flush()
 * wait for everything, and report a write error if one happened.
 */
export function createMcapSinkInline(episodesDir: string, options: McapSinkOptions = {}): InlineMcapSink {
  let scene: SceneDescription | null = null;
  // Encoding state, advanced synchronously in call order.
  let episode: number | null = null;
  let t0 = 0n;
  let lastTime = 0n;
  let overlay: FoxgloveOverlay | null = null;
  // File work: one list of steps, drained by one loop (not a promise per frame, which
  // cost more than the encoding).
  type Step = { open: number } | { frame: Encoded[] } | { finish: Encoded[]; metrics?: Record<string, number> };
  let pending: Step[] = [];
  let draining: Promise<void> | null = null;
  let current: EpisodeWriter | null = null;
  let failure: unknown = null;
  let dirMade = false;
  const written: string[] = [];
  // Episodes whose bytes are all written, waiting for (fsync and) rename.
  const settling = new Set<Promise<void>>();

  const finishCurrent = async (last: Encoded[], metrics?: Record<string, number>) => {
    const w = current;
    current = null;
    if (!w) return;
    await w.finish(last, metrics);
    const done: Promise<void> = w.settle(options.durable ?? false).then(
      () => {
        written.push(w.file);
        settling.delete(done);
      },
      (err) => {
        failure ??= err;
        w.abort();
        settling.delete(done);
      },
    );
    settling.add(done);
  };

  const apply = async (step: Step) => {
    if ('frame' in step) await current!.write(step.frame, true);
    else if ('open' in step) {
      await finishCurrent([]);
      if (!dirMade) mkdirSync(episodesDir, { recursive: true });
      dirMade = true;
      current = new EpisodeWriter(path.join(episodesDir, episodeFileName(step.open)), step.open);
      await current.start();
    } else await finishCurrent(step.finish, step.metrics);
  };

  const drain = async () => {
    try {
      while (pending.length && !failure) {
        const batch = pending;
        pending = [];
        for (const step of batch) await apply(step);
      }
    } catch (err) {
      failure ??= err;
      current?.abort();
      current = null;
    } finally {
      pending = [];
      draining = null;
    }
  };

  /** Queue steps; the caller waits only if the queue is long (memory stays bounded). */
  const push = (...steps: Step[]): Promise<void> => {
    if (failure) return Promise.reject(failure);
    pending.push(...steps);
    draining ??= drain();
    return pending.length > MAX_QUEUED ? settle(false) : Promise.resolve();
  };
  const settle = async (all: boolean) => {
    while (draining) await draining;
    while (all && settling.size) await Promise.all([...settling]);
    if (failure) throw failure;
  };

  /** The overlay's leftovers, encoded now (in call order), written when the file closes. */
  const closingMessages = (): Encoded[] => {
    const rest = overlay?.finish?.(timeOf(lastTime)) ?? [];
    overlay = null;
    episode = null;
    return rest.length ? [{ channel: 'overlay', time: lastTime, data: json({ deletions: [], entities: rest }) }] : [];
  };

  function frameWithTail(frame: Frame, tail: string): Promise<void> {
    if (!scene) return Promise.reject(new Error('mcap sink: frame() before describe()'));
    const steps: Step[] = [];
    const messages: Encoded[] = [];
    if (frame.episode !== episode) {
      if (episode !== null) steps.push({ finish: closingMessages() });
      episode = frame.episode;
      steps.push({ open: frame.episode });
      t0 = BigInt(Date.now()) * 1_000_000n;
      const stamp = timeOf(t0);
      const make = FOXGLOVE_OVERLAYS[scene.task];
      overlay = make ? make() : null;
      messages.push({ channel: 'embodyScene', time: t0, data: json(scene) });
      messages.push({ channel: 'scene', time: t0, data: json(sceneUpdateOfScene(scene, stamp)) });
      const start = overlay?.start?.(scene, stamp);
      if (start?.length) messages.push({ channel: 'overlay', time: t0, data: json({ deletions: [], entities: start }) });
    }
    const time = (lastTime = t0 + BigInt(Math.round(frame.t * 1e9)));
    const stamp = timeOf(time);
    const poses = roundPoses(frame.poses);
    messages.push({ channel: 'embodyFrame', time, data: enc.encode(embodyFrameJson(frame, poses, tail)) });
    messages.push({ channel: 'tf', time, data: enc.encode(frameTransformsJson(scene, frame.bodyIds, poses, stamp)) });
    const changed = overlay?.frame(scene, frame, stamp);
    if (changed?.length) messages.push({ channel: 'overlay', time, data: json({ deletions: [], entities: changed }) });
    steps.push({ frame: messages });
    return push(...steps);
  }

  return {
    written,
    describe(desc: SceneDescription) {
      const changed = scene !== null && JSON.stringify(scene) !== JSON.stringify(desc);
      scene = JSON.parse(JSON.stringify(desc)) as SceneDescription;
      // A new scene mid-episode closes the file: a recording holds one scene.
      if (changed && episode !== null) return push({ finish: closingMessages() });
      return Promise.resolve();
    },
    frame(frame: Frame) {
      return frameWithTail(frame, JSON.stringify({ hud: frame.hud, overlay: frame.overlay }));
    },
    frameWithTail,
    endEpisode(ep: number, metrics: Record<string, number>) {
      if (ep !== episode) return Promise.resolve();
      return push({ finish: closingMessages(), metrics });
    },
    async close() {
      if (episode !== null) await push({ finish: closingMessages() });
      else if (failure) throw failure;
      await settle(true);
    },
    flush() {
      return settle(true);
    },
  };
}

/** What the main thread sends the recording worker (mcap-worker.ts), for one sink. */
export type WorkerOp =
  | { k: 'open'; episodesDir: string; durable: boolean }
  | { k: 'describe'; scene: SceneDescription }
  /** Frames in the binary frame format (frame-codec.ts), each as u32 length + bytes, padded to 8. */
  | { k: 'frames'; buf: ArrayBuffer }
  | { k: 'end'; episode: number; metrics: Record<string, number> };
export type WorkerRequest = { type: 'ops'; sink: number; ops: WorkerOp[] } | { type: 'flush' | 'close'; sink: number; id: number; ops: WorkerOp[] };
export type WorkerReply = { type: 'ack'; sink: number; id: number; error?: string; written: string[] } | { type: 'error'; sink: number; error: string };

/** Frames per message to the worker. */
const BATCH = 64;

/** Pack encoded frames into one transferable buffer: u32 length, bytes, padding to 8. */
function packFrames(frames: Uint8Array[]): ArrayBuffer {
  let size = 0;
  for (const f of frames) size += 8 + Math.ceil(f.byteLength / 8) * 8;
  const buf = new ArrayBuffer(size);
  const view = new DataView(buf);
  const bytes = new Uint8Array(buf);
  let off = 0;
  for (const f of frames) {
    view.setUint32(off, f.byteLength, true);
    bytes.set(f, off + 8);
    off += 8 + Math.ceil(f.byteLength / 8) * 8;
  }
  return buf;
}

/** The inverse of packFrames: each frame with its JSON tail text. */
export function unpackFrames(buf: ArrayBuffer): { frame: Frame; tail: string }[] {
  const view = new DataView(buf);
  const out: { frame: Frame; tail: string }[] = [];
  for (let off = 0; off < buf.byteLength; ) {
    const n = view.getUint32(off, true);
    out.push(decodeFrameWithTail(new Uint8Array(buf, off + 8, n)));
    off += 8 + Math.ceil(n / 8) * 8;
  }
  return out;
}

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
 * transferred buffers. close() waits until every file is complete; errors surface there and
 * in flush(). `{ worker: false }` records on the calling thread instead.
 */
export function createMcapSink(episodesDir: string, options: McapSinkOptions = {}): McapSink {
  if (options.worker === false) return createMcapSinkInline(episodesDir, options);
  const thread = recorderThread();
  const worker = thread.worker;
  const sinkId = nextSinkId++;
  const written: string[] = [];
  const waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  let ops: WorkerOp[] = [{ k: 'open', episodesDir: path.resolve(episodesDir), durable: options.durable ?? false }];
  let frames: Uint8Array[] = [];
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
    if (!frames.length) return;
    ops.push({ k: 'frames', buf: packFrames(frames) });
    frames = [];
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
        frames.push(encodeFrame(frame));
      } catch (err) {
        return Promise.reject(err);
      }
      if (frames.length >= BATCH) post();
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
