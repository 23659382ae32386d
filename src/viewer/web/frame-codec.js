// Decoder of the live stream's binary frame, version 1. The layout is documented in
// src/viewer/frame-codec.ts (the encoder) and src/viewer/README.md.
export const FRAME_MAGIC = 0x464d4245;
export const HEADER_BYTES = 40;
const dec = new TextDecoder();

/** ArrayBuffer → { t, episode, reward, return, bodyIds, poses: Float32Array, hud, overlay } */
export function decodeFrame(buf) {
  const v = new DataView(buf);
  if (v.getUint32(0, true) !== FRAME_MAGIC) throw new Error('not an embody frame (bad magic)');
  const version = v.getUint16(4, true);
  if (version !== 1) throw new Error(`unsupported frame version ${version}`);
  const n = v.getUint16(6, true);
  const tailBytes = v.getUint32(12, true);
  const tail = JSON.parse(dec.decode(new Uint8Array(buf, HEADER_BYTES + 32 * n, tailBytes)));
  return {
    episode: v.getUint32(8, true),
    t: v.getFloat64(16, true),
    reward: v.getFloat64(24, true),
    return: v.getFloat64(32, true),
    bodyIds: Array.from(new Uint32Array(buf, HEADER_BYTES, n)),
    poses: new Float32Array(buf, HEADER_BYTES + 4 * n, 7 * n),
    hud: tail.hud ?? {},
    overlay: tail.overlay ?? {},
  };
}

/** A recorded frame (JSON, poses as a number array) in the same shape as a decoded live frame. */
export function fromJsonFrame(f) {
  return { ...f, poses: Float32Array.from(f.poses) };
}
