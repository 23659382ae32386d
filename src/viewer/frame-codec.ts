/** The live stream's binary frame: the codec lives in src/record (the recorder's worker uses it too). */
export { decodeFrame, encodeFrame, FRAME_MAGIC, FRAME_VERSION, HEADER_BYTES } from '../record/frame-codec.js';
