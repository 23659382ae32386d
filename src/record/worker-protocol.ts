import { decodeFrameWithTail } from './frame-codec.js';
import type { Frame, SceneDescription } from '../core/frames.js';

/**
 * How a sink on the run's thread talks to the recording thread (mcap-sink.ts → mcap-worker.ts):
 * the messages, and the packing of a batch of binary frames into one transferable buffer.
 */
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
export const BATCH = 64;

/** Pack encoded frames into one transferable buffer: u32 length, bytes, padding to 8. */
export function packFrames(frames: Uint8Array[]): ArrayBuffer {
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

