/**
 * Seeded random numbers. Every random draw in the simulation goes through an Rng,
 * so one seed fixes an episode bit for bit.
 *
 * Generator: sfc32 (Chris Doty-Humphrey's Small Fast Counter), seeded through splitmix32
 * so that nearby seeds give unrelated streams. Its state is four uint32s, which makes
 * checkpointing an Rng a four-number copy.
 */
export type RngState = [number, number, number, number];

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export class Rng {
  /**
   * The four uint32s a, b, c, d. In a Uint32Array, not four fields: a uint32 above 2³⁰ is no small
   * integer to V8, so each field store allocated a heap number (the UAV draws gusts every physics step).
   */
  private readonly st = new Uint32Array(4);
  /** A second Box-Muller draw, kept so that normals cost one uniform pair per two draws (a flag, not null, for the same reason). */
  private spareNormal = 0;
  private hasSpare = false;

  constructor(seed: number = 0) {
    if (!Number.isFinite(seed)) throw new RangeError(`Rng seed must be a finite number, got ${seed}`);
    const mix = splitmix32(Math.floor(seed) ^ Math.floor(seed / 2 ** 32));
    for (let i = 0; i < 4; i++) this.st[i] = mix();
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** Uniform uint32. */
  nextUint32(): number {
    const st = this.st;
    const a = st[0];
    const b = st[1];
    const c = st[2];
    const d = st[3];
    const t = (((a + b) >>> 0) + d) >>> 0;
    st[3] = (d + 1) >>> 0;
    st[0] = b ^ (b >>> 9);
    st[1] = (c + (c << 3)) >>> 0;
    st[2] = ((((c << 21) | (c >>> 11)) >>> 0) + t) >>> 0;
    return t;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  uniform(low = 0, high = 1): number {
    return low + (high - low) * this.next();
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    if (!(n > 0)) throw new RangeError(`Rng.int needs n > 0, got ${n}`);
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box-Muller). */
  normal(mean = 0, std = 1): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return mean + std * this.spareNormal;
    }
    let u = this.next();
    while (u <= 1e-300) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    this.hasSpare = true;
    return mean + std * r * Math.cos(2 * Math.PI * v);
  }

  /**
   * Advances the stream exactly as `n` calls to normal() would, without computing the draws a
   * caller throws away (the UAV's fading gains of devices out of range are never read).
   */
  skipNormals(n: number): void {
    for (let i = 0; i < n; i++) {
      if (this.hasSpare) {
        this.hasSpare = false;
        continue;
      }
      // The last one of a fresh pair: its partner stays as the spare, so it is computed.
      if (i === n - 1) {
        this.normal();
        return;
      }
      let u = this.next();
      while (u <= 1e-300) u = this.next();
      this.next();
      i++; // the pair's second draw goes with it
    }
  }

  /** Fisher-Yates shuffle in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }

  /** An independent child stream, so that adding draws in one part does not shift another. */
  fork(): Rng {
    return new Rng(this.nextUint32() * 4294967296 + this.nextUint32());
  }

  getState(): { s: RngState; spare: number | null } {
    return { s: [this.st[0], this.st[1], this.st[2], this.st[3]], spare: this.hasSpare ? this.spareNormal : null };
  }

  setState(state: { s: RngState; spare: number | null }): void {
    for (let i = 0; i < 4; i++) this.st[i] = state.s[i] >>> 0;
    this.hasSpare = state.spare !== null;
    this.spareNormal = state.spare ?? 0;
  }
}
