import { rmSync, writeSync } from 'node:fs';
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

/** One open episode file. */
export class EpisodeWriter {
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
    const schema = async (name: string, s: unknown) => w.registerSchema({ name, encoding: 'jsonschema', data: enc.encode(JSON.stringify(s)) });
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
