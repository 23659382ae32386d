/**
 * JSON written straight as UTF-8 bytes into an arena, for the recorder's per-frame messages.
 *
 * Why not JSON.stringify + TextEncoder: per frame that built objects, a string, then a fresh
 * Uint8Array (a typed array's backing store costs ~0.5 µs to allocate here, as much as the
 * encoding of a short message), and printed every Float32 pose with up to 17 digits. Here the
 * static parts are pre-encoded once, poses rounded to 1e-5 are printed with integer
 * arithmetic, and a message is a view into a shared 256 KiB arena (a new arena replaces a
 * full one; the views keep the old one alive until the file has the bytes).
 */
const ARENA_BYTES = 256 * 1024;
const enc = new TextEncoder();

/** Bytes of an ASCII/UTF-8 constant, encoded once. */
export const utf8 = (s: string): Uint8Array => enc.encode(s);

/** The largest pose magnitude printed by integer arithmetic (beyond it, String() is used). */
const FIXED_LIMIT = 1e9;

export class JsonBytes {
  private buf = new Uint8Array(ARENA_BYTES);
  private start = 0;
  private pos = 0;

  /** Start a message that may take up to `maxBytes` (more can be asked for with need()). */
  begin(maxBytes: number): this {
    if (this.buf.byteLength - this.start < maxBytes) this.renew(maxBytes);
    this.pos = this.start;
    return this;
  }

  /** The message written since begin(), as a view that stays valid. */
  end(): Uint8Array {
    const out = this.buf.subarray(this.start, this.pos);
    this.start = this.pos = (this.pos + 7) & ~7;
    return out;
  }

  /** Make room for `bytes` more, moving the message so far into a new arena if needed. */
  need(bytes: number): void {
    if (this.pos + bytes <= this.buf.byteLength) return;
    const sofar = this.buf.subarray(this.start, this.pos);
    this.renew(sofar.byteLength + bytes);
    this.buf.set(sofar, 0);
    this.pos = sofar.byteLength;
  }

  private renew(minBytes: number): void {
    this.buf = new Uint8Array(Math.max(ARENA_BYTES, minBytes));
    this.start = this.pos = 0;
  }

  /** Pre-encoded bytes (static parts, or a JSON text that arrived as bytes). */
  raw(bytes: Uint8Array): this {
    this.need(bytes.byteLength);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.byteLength;
    return this;
  }

  /** A string known to be ASCII (a number's String(), a key), byte by byte. */
  ascii(s: string): this {
    this.need(s.length);
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < s.length; i++) b[p++] = s.charCodeAt(i);
    this.pos = p;
    return this;
  }

  /** Any text (e.g. a JSON.stringify result), UTF-8 encoded in place. */
  text(s: string): this {
    this.need(3 * s.length);
    this.pos += enc.encodeInto(s, this.buf.subarray(this.pos)).written;
    return this;
  }

  /** A JSON number as JSON.stringify writes it (NaN and ±Infinity as null). */
  num(x: number): this {
    return this.ascii(Number.isFinite(x) ? String(x) : 'null');
  }

  /** A non-negative integer below 2^53 (seconds, nanoseconds, ids), digit by digit. */
  uint(n: number): this {
    this.need(16);
    const b = this.buf;
    if (n < 10) {
      b[this.pos++] = 48 + n;
      return this;
    }
    const first = this.pos;
    while (n > 0) {
      const q = Math.floor(n / 10);
      b[this.pos++] = 48 + n - 10 * q;
      n = q;
    }
    for (let i = first, j = this.pos - 1; i < j; i++, j--) {
      const c = b[i];
      b[i] = b[j];
      b[j] = c;
    }
    return this;
  }

  /**
   * `x` rounded to 1e-5, exactly as `String(Math.round(x * 1e5) / 1e5)` prints it (tested
   * against it), but with integer arithmetic: the digits of the rounded value are its decimal
   * digits, since a double resolves 1e-5 steps well below FIXED_LIMIT.
   */
  fixed5(x: number): this {
    if (!(Math.abs(x) < FIXED_LIMIT)) return this.num(Math.round(x * 1e5) / 1e5);
    let k = Math.round(x * 1e5);
    if (k === 0) return this.ascii('0');
    this.need(24);
    if (k < 0) {
      this.buf[this.pos++] = 45; // '-'
      k = -k;
    }
    const whole = Math.floor(k / 1e5);
    let frac = k - whole * 1e5;
    this.uint(whole);
    if (frac === 0) return this;
    const b = this.buf;
    b[this.pos++] = 46; // '.'
    for (let d = 10000; frac > 0; d /= 10) {
      const q = Math.floor(frac / d);
      b[this.pos++] = 48 + q;
      frac -= q * d;
    }
    return this;
  }
}
