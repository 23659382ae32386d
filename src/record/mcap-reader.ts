import { open, type FileHandle } from 'node:fs/promises';
import { McapIndexedReader } from '@mcap/core';
import type { Frame, SceneDescription } from '../core/frames.js';
import { EPISODE_METADATA, TOPICS } from './episode-writer.js';

/** An @mcap/core IReadable over a fs.promises FileHandle: random access without loading the file. */
export class FileHandleReadable {
  private constructor(
    private readonly handle: FileHandle,
    private readonly bytes: bigint,
  ) {}

  static async open(file: string): Promise<FileHandleReadable> {
    const handle = await open(file, 'r');
    const { size } = await handle.stat();
    return new FileHandleReadable(handle, BigInt(size));
  }

  async size(): Promise<bigint> {
    return this.bytes;
  }

  async read(offset: bigint, size: bigint): Promise<Uint8Array> {
    if (offset + size > this.bytes) throw new Error(`read past the end: ${offset}+${size} > ${this.bytes}`);
    const buf = new Uint8Array(Number(size));
    let done = 0;
    while (done < buf.length) {
      const { bytesRead } = await this.handle.read(buf, done, buf.length - done, Number(offset) + done);
      if (bytesRead === 0) throw new Error('unexpected end of file');
      done += bytesRead;
    }
    return buf;
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

/** Open an MCAP file with the indexed reader; call `close()` on the readable when done. */
export async function openMcap(file: string): Promise<{ reader: McapIndexedReader; readable: FileHandleReadable }> {
  const readable = await FileHandleReadable.open(file);
  try {
    const reader = await McapIndexedReader.Initialize({ readable });
    return { reader, readable };
  } catch (err) {
    await readable.close();
    throw new Error(`${file}: not a readable MCAP file (${(err as Error).message})`);
  }
}

export interface RecordedEpisode {
  scene: SceneDescription;
  /** Frames in time order; poses as Float32Array, as the live stream gives them. */
  frames: Frame[];
  /** The episode's final metrics, when the recording ended with endEpisode(). */
  metrics: Record<string, number> | null;
}

const dec = new TextDecoder();

/** Read back what the viewer needs from an episode recording: the embody channels and metadata. */
export async function readEpisode(file: string): Promise<RecordedEpisode> {
  const { reader, readable } = await openMcap(file);
  try {
    let scene: SceneDescription | null = null;
    const frames: Frame[] = [];
    const topicOf = new Map([...reader.channelsById.values()].map((c) => [c.id, c.topic]));
    for await (const msg of reader.readMessages({ topics: [TOPICS.embodyScene, TOPICS.embodyFrame] })) {
      const value = JSON.parse(dec.decode(msg.data));
      if (topicOf.get(msg.channelId) === TOPICS.embodyScene) scene ??= value as SceneDescription;
      else frames.push({ ...value, poses: Float32Array.from(value.poses as number[]) });
    }
    if (!scene) throw new Error(`${file}: no ${TOPICS.embodyScene} message`);
    let metrics: Record<string, number> | null = null;
    for await (const m of reader.readMetadata({ name: EPISODE_METADATA })) {
      metrics = Object.fromEntries([...m.metadata].map(([k, v]) => [k, Number(v)]));
    }
    return { scene, frames, metrics };
  } finally {
    await readable.close();
  }
}
