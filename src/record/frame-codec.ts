import type { Frame } from '../core/frames.js';

/**
 * The binary frame, version 1 (little-endian): the live stream sends it (src/viewer/README.md),
 * and the recorder hands frames to its worker thread in it.
 *
 *   offset  type        field
 *   0       u32         magic 0x464d4245 ("EBMF" as bytes E B M F read as little-endian u32)
 *   4       u16         version = 1
 *   6       u16         n = number of dynamic bodies
 *   8       u32         episode
 *   12      u32         tail = byte length of the JSON tail
 *   16      f64         t (s)
 *   24      f64         reward
 *   32      f64         return
 *   40      u32[n]      body ids
 *   40+4n   f32[7n]     poses [x, y, z, qx, qy, qz, qw] per body
 *   40+32n  utf-8       JSON {"hud": {...}, "overlay": {...}}
 *
 * Everything numeric and per-body is binary; the overlay stays JSON, since each task
 * shapes it differently and it is small (a few numbers per device).
 */
export const FRAME_MAGIC = 0x464d4245;
export const FRAME_VERSION = 1;
export const HEADER_BYTES = 40;

const enc = new TextEncoder();
const dec = new TextDecoder();

export function encodeFrame(frame: Frame): Uint8Array {
  const n = frame.bodyIds.length;
  if (frame.poses.length !== 7 * n) throw new Error(`frame: ${frame.poses.length} pose numbers for ${n} bodies (expected ${7 * n})`);
  const tail = enc.encode(JSON.stringify({ hud: frame.hud, overlay: frame.overlay }));
  const buf = new ArrayBuffer(HEADER_BYTES + 32 * n + tail.byteLength);
  const v = new DataView(buf);
  v.setUint32(0, FRAME_MAGIC, true);
  v.setUint16(4, FRAME_VERSION, true);
  v.setUint16(6, n, true);
  v.setUint32(8, frame.episode, true);
  v.setUint32(12, tail.byteLength, true);
  v.setFloat64(16, frame.t, true);
  v.setFloat64(24, frame.reward, true);
  v.setFloat64(32, frame.return, true);
  new Uint32Array(buf, HEADER_BYTES, n).set(frame.bodyIds);
  new Float32Array(buf, HEADER_BYTES + 4 * n, 7 * n).set(frame.poses);
  new Uint8Array(buf, HEADER_BYTES + 32 * n).set(tail);
  return new Uint8Array(buf);
}

/** The inverse of encodeFrame (the page has the same decoder in web/frame-codec.js). */
export function decodeFrame(bytes: Uint8Array): Frame {
  return decodeFrameWithTail(bytes).frame;
}

/** decodeFrame, also returning the JSON tail's text (the recorder splices it into its JSON). */
export function decodeFrameWithTail(bytes: Uint8Array): { frame: Frame; tail: string } {
  // Copy to an aligned buffer: typed-array views need 4-byte alignment.
  const buf = bytes.byteOffset % 8 === 0 ? bytes.buffer : bytes.slice().buffer;
  const base = bytes.byteOffset % 8 === 0 ? bytes.byteOffset : 0;
  const v = new DataView(buf, base, bytes.byteLength);
  if (v.getUint32(0, true) !== FRAME_MAGIC) throw new Error('not an embody frame (bad magic)');
  const version = v.getUint16(4, true);
  if (version !== FRAME_VERSION) throw new Error(`unsupported frame version ${version}`);
  const n = v.getUint16(6, true);
  const tailBytes = v.getUint32(12, true);
  const text = dec.decode(new Uint8Array(buf, base + HEADER_BYTES + 32 * n, tailBytes));
  const tail = JSON.parse(text);
  const frame: Frame = {
    episode: v.getUint32(8, true),
    t: v.getFloat64(16, true),
    reward: v.getFloat64(24, true),
    return: v.getFloat64(32, true),
    bodyIds: Array.from(new Uint32Array(buf, base + HEADER_BYTES, n)),
    poses: new Float32Array(buf.slice(base + HEADER_BYTES + 4 * n, base + HEADER_BYTES + 32 * n)),
    hud: tail.hud ?? {},
    overlay: tail.overlay ?? {},
  };
  return { frame, tail: text };
}
