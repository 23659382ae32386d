import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { McapWriter, type IWritable } from '@mcap/core';
import type { Frame, FrameSink, SceneDescription } from '../core/frames.js';
import { FOXGLOVE_OVERLAYS, frameTransformsOf, sceneUpdateOfScene, timeOf, type FoxgloveOverlay } from './foxglove.js';
import { EMBODY_FRAME_SCHEMA, EMBODY_SCENE_SCHEMA, FRAME_TRANSFORMS_SCHEMA, SCENE_UPDATE_SCHEMA } from './foxglove-schemas.js';

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

type ChannelKey = keyof typeof TOPICS;
interface Encoded {
  channel: ChannelKey;
  time: bigint;
  data: Uint8Array;
}

/** One open episode file. It only writes bytes; all encoding happens in the sink, synchronously. */
class EpisodeWriter {
  private writer: McapWriter;
  private fd: number;
  private channels = {} as Record<ChannelKey, number>;
  private seq = 0;
  readonly tmp: string;
  frames = 0;

  constructor(
    readonly file: string,
    readonly episode: number,
  ) {
    this.tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
    this.fd = openSync(this.tmp, 'w');
    this.writer = new McapWriter({ writable: new FdWritable(this.fd), chunkSize: 256 * 1024 });
  }

  async start(): Promise<void> {
    const w = this.writer;
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

  async finish(metrics?: Record<string, number>): Promise<void> {
    if (metrics) {
      const m = new Map(Object.entries(metrics).map(([k, v]) => [k, String(v)]));
      m.set('episode', String(this.episode));
      m.set('frames', String(this.frames));
      await this.writer.addMetadata({ name: EPISODE_METADATA, metadata: m });
    }
    await this.writer.end();
    fsyncSync(this.fd);
    closeSync(this.fd);
    renameSync(this.tmp, this.file);
  }

  abort(): void {
    try {
      closeSync(this.fd);
    } catch {
      /* already closed */
    }
    rmSync(this.tmp, { force: true });
  }
}

export interface McapSink extends FrameSink {
  /** Files written so far (complete episodes only). */
  readonly written: string[];
  /** Resolves when every queued write is done. */
  flush(): Promise<void>;
}

/**
 * A FrameSink writing `episodesDir/<nnnn>.mcap` per episode (n = Frame.episode). Calls may be
 * awaited or not: each frame is encoded before frame() returns (so a caller may reuse its
 * buffers at once), and the file writes are queued in order.
 */
export function createMcapSink(episodesDir: string): McapSink {
  let scene: SceneDescription | null = null;
  // Encoding state, advanced synchronously in call order.
  let episode: number | null = null;
  let t0 = 0n;
  let overlay: FoxgloveOverlay | null = null;
  // File state, advanced by the queue.
  let current: EpisodeWriter | null = null;
  let queue: Promise<void> = Promise.resolve();
  let failure: unknown = null;
  const written: string[] = [];

  const enqueue = (job: () => Promise<void>): Promise<void> => {
    queue = queue.then(async () => {
      if (failure) return;
      try {
        await job();
      } catch (err) {
        failure = err;
        current?.abort();
        current = null;
      }
    });
    return queue.then(() => {
      if (failure) throw failure;
    });
  };

  const finishCurrent = async (metrics?: Record<string, number>) => {
    const w = current;
    current = null;
    if (!w) return;
    await w.finish(metrics);
    written.push(w.file);
  };

  return {
    written,
    describe(desc: SceneDescription) {
      const changed = scene !== null && JSON.stringify(scene) !== JSON.stringify(desc);
      scene = JSON.parse(JSON.stringify(desc)) as SceneDescription;
      // A new scene mid-episode closes the file: a recording holds one scene.
      if (changed && episode !== null) {
        episode = null;
        return enqueue(() => finishCurrent());
      }
      return enqueue(async () => {});
    },
    frame(frame: Frame) {
      if (!scene) return Promise.reject(new Error('mcap sink: frame() before describe()'));
      const messages: Encoded[] = [];
      let opening: number | null = null;
      if (frame.episode !== episode) {
        episode = opening = frame.episode;
        t0 = BigInt(Date.now()) * 1_000_000n;
        const stamp = timeOf(t0);
        const make = FOXGLOVE_OVERLAYS[scene.task];
        overlay = make ? make() : null;
        messages.push({ channel: 'embodyScene', time: t0, data: json(scene) });
        messages.push({ channel: 'scene', time: t0, data: json(sceneUpdateOfScene(scene, stamp)) });
        const start = overlay?.start?.(scene, stamp);
        if (start?.length) messages.push({ channel: 'overlay', time: t0, data: json({ deletions: [], entities: start }) });
      }
      const time = t0 + BigInt(Math.round(frame.t * 1e9));
      const stamp = timeOf(time);
      messages.push({ channel: 'embodyFrame', time, data: json({ ...frame, poses: roundPoses(frame.poses), bodyIds: [...frame.bodyIds] }) });
      messages.push({ channel: 'tf', time, data: json(frameTransformsOf(scene, frame, stamp)) });
      if (overlay) messages.push({ channel: 'overlay', time, data: json({ deletions: [], entities: overlay.frame(scene, frame, stamp) }) });
      return enqueue(async () => {
        if (opening !== null) {
          await finishCurrent();
          mkdirSync(episodesDir, { recursive: true });
          current = new EpisodeWriter(path.join(episodesDir, episodeFileName(opening)), opening);
          await current.start();
        }
        await current!.write(messages, true);
      });
    },
    endEpisode(ep: number, metrics: Record<string, number>) {
      if (ep === episode) episode = null;
      return enqueue(async () => {
        if (current && current.episode === ep) await finishCurrent(metrics);
      });
    },
    close() {
      episode = null;
      return enqueue(() => finishCurrent());
    },
    flush() {
      return enqueue(async () => {});
    },
  };
}
