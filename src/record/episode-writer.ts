import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { open, rename, type FileHandle } from 'node:fs/promises';
import { McapWriter, type IWritable } from '@mcap/core';
import { EMBODY_FRAME_SCHEMA, EMBODY_SCENE_SCHEMA, FRAME_TRANSFORMS_SCHEMA, SCENE_UPDATE_SCHEMA } from './schemas.js';

/**
 * One episode's MCAP file: `episodes/<nnnn>.mcap`, written to a temp file and renamed into
 * place when the episode ends, so a reader never sees half an episode. It only writes bytes;
 * the messages arrive encoded (messages.ts).
 *
 * Topics (all JSON):
 *   /scene          foxglove.SceneUpdate       the bodies, once per episode
 *   /tf             foxglove.FrameTransforms   world → dynamic body, every frame
 *   /overlay        foxglove.SceneUpdate       task overlays for Foxglove, when they change
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

export type ChannelKey = keyof typeof TOPICS;

/** One message, encoded: its channel, log time (ns) and bytes. */
export interface Encoded {
  channel: ChannelKey;
  time: bigint;
  data: Uint8Array;
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
/** The schema text stored in every file, encoded once per process (not once per episode). */
const SCHEMA_TEXT = {
  'foxglove.SceneUpdate': enc.encode(JSON.stringify(SCENE_UPDATE_SCHEMA)),
  'foxglove.FrameTransforms': enc.encode(JSON.stringify(FRAME_TRANSFORMS_SCHEMA)),
  'embody.SceneDescription': enc.encode(JSON.stringify(EMBODY_SCENE_SCHEMA)),
  'embody.Frame': enc.encode(JSON.stringify(EMBODY_FRAME_SCHEMA)),
};

/**
 * One open episode file. `blocking`: open, fsync, close and rename with synchronous calls, on
 * a thread of its own (the recording thread: it costs that thread ~0.1 ms an episode, and the
 * process half the CPU of the thread-pool round trips); otherwise on the libuv thread pool, so
 * that a recorder on the run's own thread never waits for the file system.
 */
export class EpisodeWriter {
  private writer!: McapWriter;
  private handle: FileHandle | null = null;
  private fd: number | null = null;
  private channels = {} as Record<ChannelKey, number>;
  private seq = 0;
  readonly tmp: string;
  frames = 0;

  constructor(
    readonly file: string,
    readonly episode: number,
    readonly blocking = false,
  ) {
    this.tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  }

  async start(): Promise<void> {
    if (this.blocking) this.fd = openSync(this.tmp, 'w');
    else this.fd = (this.handle = await open(this.tmp, 'w')).fd;
    const w = (this.writer = new McapWriter({ writable: new FdWritable(this.fd), chunkSize: 256 * 1024 }));
    await w.start({ profile: '', library: 'embody' });
    const schema = async (name: keyof typeof SCHEMA_TEXT) => w.registerSchema({ name, encoding: 'jsonschema', data: SCHEMA_TEXT[name] });
    const sceneUpdate = await schema('foxglove.SceneUpdate');
    const frameTransforms = await schema('foxglove.FrameTransforms');
    const embodyScene = await schema('embody.SceneDescription');
    const embodyFrame = await schema('embody.Frame');
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
    if (this.blocking) {
      if (durable) fsyncSync(this.fd!);
      closeSync(this.fd!);
      this.fd = null;
      renameSync(this.tmp, this.file);
      return;
    }
    if (durable) await this.handle!.sync();
    await this.handle!.close();
    this.handle = this.fd = null;
    await rename(this.tmp, this.file);
  }

  abort(): void {
    const h = this.handle;
    const fd = this.fd;
    this.handle = this.fd = null;
    if (h) void h.close().catch(() => {});
    else if (fd !== null) {
      try {
        closeSync(fd);
      } catch {
        // already closed: nothing to release
      }
    }
    rmSync(this.tmp, { force: true });
  }
}
