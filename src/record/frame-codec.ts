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
  const n = checkedBodies(frame);
  const tail = enc.encode(JSON.stringify({ hud: frame.hud, overlay: frame.overlay }));
  const bytes = new Uint8Array(HEADER_BYTES + 32 * n + tail.byteLength);
  writeHeadAndPoses(bytes, 0, frame, tail.byteLength);
  bytes.set(tail, HEADER_BYTES + 32 * n);
  return bytes;
}

/** The most bytes writeFrame() may take for this frame with these two JSON texts. */
export function frameBytesMax(frame: Frame, hudJson: string, overlayJson: string): number {
  return HEADER_BYTES + 32 * frame.bodyIds.length + TAIL_SYNTAX_BYTES + 3 * (hudJson.length + overlayJson.length);
}

/** `{"hud":` + HUD + `,"overlay":` + OVERLAY + `}`: the bytes around the two JSON texts of a tail. */
export const TAIL_HUD_PREFIX = '{"hud":';
export const TAIL_OVERLAY_PREFIX = ',"overlay":';
const TAIL_SYNTAX_BYTES = TAIL_HUD_PREFIX.length + TAIL_OVERLAY_PREFIX.length + 1;

/**
 * encodeFrame() in place: the frame written into `bytes` at `at` (a multiple of 4), its tail
 * built from the HUD and overlay JSON texts given (byte for byte what encodeFrame writes, as
 * JSON.stringify({hud, overlay}) is `{"hud":` + JSON.stringify(hud) + `,"overlay":` + … + `}`).
 * Returns the frame's byte length and the UTF-8 length of the HUD text (where the overlay
 * starts), so a reader can parse the overlay alone. `bytes` must hold frameBytesMax().
 */
export function writeFrame(bytes: Uint8Array, at: number, frame: Frame, hudJson: string, overlayJson: string): { bytes: number; hudBytes: number } {
  const n = checkedBodies(frame);
  let p = at + HEADER_BYTES + 32 * n;
  const tail0 = p;
  p += enc.encodeInto(TAIL_HUD_PREFIX, bytes.subarray(p)).written;
  const hudBytes = enc.encodeInto(hudJson, bytes.subarray(p)).written;
  p += hudBytes;
  p += enc.encodeInto(TAIL_OVERLAY_PREFIX, bytes.subarray(p)).written;
  p += enc.encodeInto(overlayJson, bytes.subarray(p)).written;
  bytes[p++] = 0x7d; // '}'
  writeHeadAndPoses(bytes, at, frame, p - tail0);
  return { bytes: p - at, hudBytes };
}

function checkedBodies(frame: Frame): number {
  const n = frame.bodyIds.length;
  if (frame.poses.length !== 7 * n) throw new Error(`frame: ${frame.poses.length} pose numbers for ${n} bodies (expected ${7 * n})`);
  return n;
}

function writeHeadAndPoses(bytes: Uint8Array, at: number, frame: Frame, tailBytes: number): void {
  const n = frame.bodyIds.length;
  const v = new DataView(bytes.buffer, bytes.byteOffset + at, HEADER_BYTES);
  v.setUint32(0, FRAME_MAGIC, true);
  v.setUint16(4, FRAME_VERSION, true);
  v.setUint16(6, n, true);
  v.setUint32(8, frame.episode, true);
  v.setUint32(12, tailBytes, true);
  v.setFloat64(16, frame.t, true);
  v.setFloat64(24, frame.reward, true);
  v.setFloat64(32, frame.return, true);
  new Uint32Array(bytes.buffer, bytes.byteOffset + at + HEADER_BYTES, n).set(frame.bodyIds);
  new Float32Array(bytes.buffer, bytes.byteOffset + at + HEADER_BYTES + 4 * n, 7 * n).set(frame.poses);
}

/** The inverse of encodeFrame (the page has the same decoder in web/frame-codec.js). */
export function decodeFrame(bytes: Uint8Array): Frame {
  // Copy to an aligned buffer: typed-array views need 4-byte alignment.
  const buf = bytes.byteOffset % 8 === 0 ? bytes.buffer : bytes.slice().buffer;
  const base = bytes.byteOffset % 8 === 0 ? bytes.byteOffset : 0;
  const v = new DataView(buf, base, bytes.byteLength);
  if (v.getUint32(0, true) !== FRAME_MAGIC) throw new Error('not an embody frame (bad magic)');
  const version = v.getUint16(4, true);
  if (version !== FRAME_VERSION) throw new Error(`unsupported frame version ${version}`);
  const n = v.getUint16(6, true);
  const tailBytes = v.getUint32(12, true);
  const tail = JSON.parse(dec.decode(new Uint8Array(buf, base + HEADER_BYTES + 32 * n, tailBytes)));
  return {
    episode: v.getUint32(8, true),
    t: v.getFloat64(16, true),
    reward: v.getFloat64(24, true),
    return: v.getFloat64(32, true),
    bodyIds: Array.from(new Uint32Array(buf, base + HEADER_BYTES, n)),
    poses: new Float32Array(buf.slice(base + HEADER_BYTES + 4 * n, base + HEADER_BYTES + 32 * n)),
    hud: tail.hud ?? {},
    overlay: tail.overlay ?? {},
  };
}
