import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Frame, FrameSink, SceneDescription } from '../core/frames.js';
import { EpisodeWriter, episodeFileName, type Encoded } from './episode-writer.js';
import { FOXGLOVE_OVERLAYS, sceneUpdateOfScene, timeOf, type FoxgloveOverlay } from './foxglove.js';
import { MessageEncoder } from './messages.js';
import { FrameBatch, unpackFrames, type PackedFrame } from './worker-protocol.js';

export interface McapSinkOptions {
  /** Record in a worker thread (default true). */
  worker?: boolean;
  /** fsync each episode file before the rename (default false: atomic, but not power-loss safe). */
  durable?: boolean;
  /**
   * Rate, in frames per second of sim time, of the Foxglove display channels (/tf and the
   * /overlay updates; default DISPLAY_HZ). The data channel /embody/frame keeps every frame.
   * Infinity writes the display channels at every frame too.
   */
  displayHz?: number;
  /**
   * Refreshes per second of sim time of the task's Foxglove overlays on /overlay (default
   * OVERLAY_HZ; at most displayHz): each refresh writes the entities that changed since the
   * last. Between refreshes an overlay only tracks poses (the UAV's trail keeps every point).
   */
  overlayHz?: number;
}

/** Default rate of the display channels: what a screen shows, not what the simulator steps. */
export const DISPLAY_HZ = 30;
/**
 * Default overlay refresh rate: the UAV overlay looked at its device columns and redrew its
 * allocation lines once a second of sim time before there was a knob, and refreshes (parsing the
 * overlay data, entities through JSON.stringify) were most of what recording cost.
 */
export const OVERLAY_HZ = 1;

function rate(name: string, hz: unknown): number {
  if (typeof hz !== 'number' || !(hz > 0)) throw new Error(`mcap sink: ${name} must be a positive number of frames per second of sim time (or Infinity), got ${String(hz)}`);
  return hz;
}

/** The displayHz and overlayHz options, checked. */
export function displayRates(options: McapSinkOptions): { displayHz: number; overlayHz: number } {
  return { displayHz: rate('displayHz', options.displayHz ?? DISPLAY_HZ), overlayHz: rate('overlayHz', options.overlayHz ?? OVERLAY_HZ) };
}

export interface McapSink extends FrameSink {
  /** Files written so far (complete episodes only). */
  readonly written: string[];
  /** Resolves when every queued write is done (and rejects if one failed). */
  flush(): Promise<void>;
}

/** The recorder on the calling thread. */
export interface InlineMcapSink extends McapSink {
  /** frame() for a frame as the recording thread receives it (worker-protocol.ts). */
  packedFrame(frame: PackedFrame): Promise<void>;
}

/** Queued jobs above which frame() makes its caller wait, so memory stays bounded. */
const MAX_QUEUED = 256;

/**
 * The recorder itself, on the calling thread: `createMcapSink` runs it in a worker thread
 * (which passes `blockingFiles`: file calls block that thread rather than go to the pool).
 * Each frame is encoded before frame() returns (so the caller may reuse its buffers at
 * once), the display channels go out at displayHz of sim time and the Foxglove overlays only
 * when they change, and the file work is queued.
 * describe/frame/endEpisode return at once unless the queue is long; close() and flush()
 * wait for everything, and report a write error if one happened.
 */
export function createMcapSinkInline(episodesDir: string, options: McapSinkOptions & { blockingFiles?: boolean } = {}): InlineMcapSink {
  const { displayHz, overlayHz } = displayRates(options);
  let scene: SceneDescription | null = null;
  let encoder: MessageEncoder | null = null;
  // Encoding state, advanced synchronously in call order.
  let episode: number | null = null;
  let t0 = 0n;
  let lastTime = 0n;
  // The display slot (floor of sim time × displayHz) of the last frame that went to /tf, and
  // the overlay slot of the last refresh; the last display frame, if no refresh followed it.
  let lastSlot = -1;
  let lastRefresh = -1;
  let unrefreshed: PackedFrame | null = null;
  let overlay: FoxgloveOverlay | null = null;
  const batch = new FrameBatch(1024);
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
      current = new EpisodeWriter(path.join(episodesDir, episodeFileName(step.open)), step.open, options.blockingFiles ?? false);
      await current.start();
    } else await finishCurrent(step.finish, step.metrics);
  };

  const drain = async () => {
    try {
      while (pending.length && !failure) {
        const steps = pending;
        pending = [];
        for (const step of steps) await apply(step);
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

  /** The overlay's leftovers (a refresh at the last frame, then finish()), encoded now (in call order), written when the file closes. */
  const closingMessages = (): Encoded[] => {
    const stamp = timeOf(lastTime);
    const rest = unrefreshed && overlay && scene ? overlay.frame(scene, unrefreshed, stamp) : [];
    rest.push(...(overlay?.finish?.(stamp) ?? []));
    overlay = null;
    unrefreshed = null;
    episode = null;
    return rest.length ? [{ channel: 'overlay', time: lastTime, data: encoder!.json({ deletions: [], entities: rest }) }] : [];
  };

  function packedFrame(frame: PackedFrame): Promise<void> {
    if (!scene || !encoder) return Promise.reject(new Error('mcap sink: frame() before describe()'));
    const steps: Step[] = [];
    const messages: Encoded[] = [];
    const opened = frame.episode !== episode;
    if (opened) {
      if (episode !== null) steps.push({ finish: closingMessages() });
      episode = frame.episode;
      steps.push({ open: frame.episode });
      t0 = BigInt(Date.now()) * 1_000_000n;
      const stamp = timeOf(t0);
      const make = FOXGLOVE_OVERLAYS[scene.task];
      overlay = make ? make() : null;
      messages.push({ channel: 'embodyScene', time: t0, data: encoder.json(scene) });
      messages.push({ channel: 'scene', time: t0, data: encoder.json(sceneUpdateOfScene(scene, stamp)) });
      const start = overlay?.start?.(scene, stamp);
      if (start?.length) messages.push({ channel: 'overlay', time: t0, data: encoder.json({ deletions: [], entities: start }) });
    }
    const time = (lastTime = t0 + BigInt(Math.round(frame.t * 1e9)));
    messages.push({ channel: 'embodyFrame', time, data: encoder.embodyFrame(frame) });
    // Display channels: the first frame of an episode, then one per 1/displayHz s of sim time.
    const slot = displayHz === Infinity ? lastSlot + 1 : Math.floor(frame.t * displayHz + 1e-6);
    if (opened || slot > lastSlot) {
      lastSlot = slot;
      const stamp = timeOf(time);
      messages.push({ channel: 'tf', time, data: encoder.frameTransforms(frame, stamp) });
      if (overlay) {
        overlay.track?.(scene, frame);
        const refresh = overlayHz === Infinity ? lastRefresh + 1 : Math.floor(frame.t * overlayHz + 1e-6);
        unrefreshed = frame;
        if (opened || refresh > lastRefresh) {
          lastRefresh = refresh;
          unrefreshed = null;
          const changed = overlay.frame(scene, frame, stamp);
          if (changed.length) messages.push({ channel: 'overlay', time, data: encoder.json({ deletions: [], entities: changed }) });
        }
      }
    }
    steps.push({ frame: messages });
    return push(...steps);
  }

  return {
    written,
    describe(desc: SceneDescription) {
      const changed = scene !== null && JSON.stringify(scene) !== JSON.stringify(desc);
      // A new scene mid-episode closes the file (with the old scene's last overlay refresh): a recording holds one scene.
      const closing = changed && episode !== null ? push({ finish: closingMessages() }) : Promise.resolve();
      scene = JSON.parse(JSON.stringify(desc)) as SceneDescription;
      if (changed || !encoder) encoder = new MessageEncoder(scene);
      return closing;
    },
    frame(frame: Frame) {
      if (!scene) return Promise.reject(new Error('mcap sink: frame() before describe()'));
      // The same path as the recording thread's: pack, then encode from the packed bytes.
      try {
        batch.add(frame);
      } catch (err) {
        return Promise.reject(err);
      }
      // A buffer per frame: the overlay may hold on to the last one until the episode ends.
      const { buf, bytes } = batch.take();
      return packedFrame(unpackFrames(buf, bytes)[0]);
    },
    packedFrame,
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
