import type { Frame, SceneDescription } from '../core/frames.js';
import { FRAME_MAGIC, FRAME_VERSION, frameBytesMax, HEADER_BYTES, TAIL_HUD_PREFIX, TAIL_OVERLAY_PREFIX, writeFrame } from './frame-codec.js';

/**
 * How a sink on the run's thread talks to the recording thread (mcap-sink.ts → mcap-worker.ts):
 * the messages, and a batch of frames packed into one transferable buffer.
 */

/** What the main thread sends the recording worker (mcap-worker.ts), for one sink. */
export type WorkerOp =
  | { k: 'open'; episodesDir: string; durable: boolean; displayHz: number; overlayHz: number }
  | { k: 'describe'; scene: SceneDescription }
  /** `bytes` bytes of `buf`: frames packed by FrameBatch. */
  | { k: 'frames'; buf: ArrayBuffer; bytes: number }
  | { k: 'end'; episode: number; metrics: Record<string, number> };
export type WorkerRequest = { type: 'ops'; sink: number; ops: WorkerOp[] } | { type: 'flush' | 'close'; sink: number; id: number; ops: WorkerOp[] };
export type WorkerReply = { type: 'ack'; sink: number; id: number; error?: string; written: string[] } | { type: 'error'; sink: number; error: string };

/** Frames per message to the worker. */
export const BATCH = 64;

/** Per packed frame: u32 frame bytes, u32 HUD JSON bytes (where the overlay JSON starts). */
const ENTRY_HEAD = 8;
const pad8 = (n: number) => (n + 7) & ~7;

/**
 * Frames packed for the recording thread: each as an 8-byte entry head, then the binary frame
 * (frame-codec.ts, the live stream's format), padded to 8 bytes, all in one growing buffer that
 * is transferred, not copied. The HUD and overlay are JSON.stringify'd here, once, separately,
 * so that the thread can splice the whole tail into embody.Frame and parse only the overlay.
 */
export class FrameBatch {
  private buf: ArrayBuffer;
  private bytes: Uint8Array;
  private used = 0;
  count = 0;

  /** `initialBytes`: the size of each fresh buffer (it grows for bigger batches). */
  constructor(private readonly initialBytes = 64 * 1024) {
    this.buf = new ArrayBuffer(initialBytes);
    this.bytes = new Uint8Array(this.buf);
  }

  add(frame: Frame): void {
    const hud = JSON.stringify(frame.hud ?? {});
    const overlay = JSON.stringify(frame.overlay ?? {});
    const max = ENTRY_HEAD + pad8(frameBytesMax(frame, hud, overlay));
    if (this.used + max > this.buf.byteLength) this.grow(this.used + max);
    const at = this.used + ENTRY_HEAD;
    const written = writeFrame(this.bytes, at, frame, hud, overlay);
    const head = new DataView(this.buf, this.used, ENTRY_HEAD);
    head.setUint32(0, written.bytes, true);
    head.setUint32(4, written.hudBytes, true);
    this.used += ENTRY_HEAD + pad8(written.bytes);
    this.count++;
  }

  /** The packed frames (to transfer), and a fresh buffer for the next batch. */
  take(): { buf: ArrayBuffer; bytes: number } {
    const out = { buf: this.buf, bytes: this.used };
    this.buf = new ArrayBuffer(Math.max(this.initialBytes, this.used));
    this.bytes = new Uint8Array(this.buf);
    this.used = 0;
    this.count = 0;
    return out;
  }

  private grow(min: number): void {
    const bigger = new ArrayBuffer(Math.max(min, 2 * this.buf.byteLength));
    new Uint8Array(bigger).set(this.bytes.subarray(0, this.used));
    this.buf = bigger;
    this.bytes = new Uint8Array(bigger);
  }
}

const dec = new TextDecoder();
const HUD_START = TAIL_HUD_PREFIX.length;
const OVERLAY_PREFIX = new TextEncoder().encode(TAIL_OVERLAY_PREFIX);

/**
 * One frame read out of a batch, without copies: views into the batch buffer. The overlay is
 * parsed on first use (the Foxglove overlays need it; embody.Frame takes the tail as bytes),
 * and the HUD never is.
 */
export class PackedFrame {
  readonly episode: number;
  readonly t: number;
  readonly reward: number;
  readonly return: number;
  readonly bodyIds: Uint32Array;
  readonly poses: Float32Array;
  /** The frame's `{"hud":…,"overlay":…}` JSON as UTF-8 bytes. */
  readonly tail: Uint8Array;
  private readonly hudBytes: number;
  private parsed: Record<string, unknown> | null = null;

  constructor(buf: ArrayBuffer, at: number, bytes: number, hudBytes: number) {
    const v = new DataView(buf, at, bytes);
    if (v.getUint32(0, true) !== FRAME_MAGIC) throw new Error('not an embody frame (bad magic)');
    if (v.getUint16(4, true) !== FRAME_VERSION) throw new Error(`unsupported frame version ${v.getUint16(4, true)}`);
    const n = v.getUint16(6, true);
    this.episode = v.getUint32(8, true);
    this.t = v.getFloat64(16, true);
    this.reward = v.getFloat64(24, true);
    this.return = v.getFloat64(32, true);
    this.bodyIds = new Uint32Array(buf, at + HEADER_BYTES, n);
    this.poses = new Float32Array(buf, at + HEADER_BYTES + 4 * n, 7 * n);
    this.tail = new Uint8Array(buf, at + HEADER_BYTES + 32 * n, v.getUint32(12, true));
    this.hudBytes = hudBytes;
  }

  get overlay(): Record<string, unknown> {
    if (this.parsed) return this.parsed;
    const from = HUD_START + this.hudBytes;
    const tail = this.tail;
    let ok = from + OVERLAY_PREFIX.length < tail.length;
    for (let i = 0; ok && i < OVERLAY_PREFIX.length; i++) ok = tail[from + i] === OVERLAY_PREFIX[i];
    // A tail not laid out as FrameBatch writes it is parsed whole.
    this.parsed = ok ? JSON.parse(dec.decode(tail.subarray(from + OVERLAY_PREFIX.length, tail.length - 1))) : (JSON.parse(dec.decode(tail)).overlay ?? {});
    return this.parsed!;
  }
}

/** The frames of a batch, in order. */
export function unpackFrames(buf: ArrayBuffer, bytes: number): PackedFrame[] {
  const view = new DataView(buf, 0, bytes);
  const out: PackedFrame[] = [];
  for (let off = 0; off < bytes; ) {
    const n = view.getUint32(off, true);
    out.push(new PackedFrame(buf, off + ENTRY_HEAD, n, view.getUint32(off + 4, true)));
    off += ENTRY_HEAD + pad8(n);
  }
  return out;
}
