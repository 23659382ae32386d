import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Frame, FrameSink, SceneDescription } from '../core/frames.js';
import { EpisodeWriter, episodeFileName, type Encoded } from './episode-writer.js';
import { FOXGLOVE_OVERLAYS, frameTransformsJson, jsonNumber, sceneUpdateOfScene, timeOf, type FoxgloveOverlay } from './foxglove.js';

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

