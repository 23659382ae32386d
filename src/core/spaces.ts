import { Rng } from './rng.js';

/**
 * Spaces, as Gymnasium defines them. Observations are Float32Array. Box actions are
 * normalised to [-1, 1] by convention (the TaskModel maps them to physical units);
 * Discrete actions are integers in [0, n).
 */
export type Space = Box | Discrete;

export interface BoxJSON {
  kind: 'box';
  shape: number[];
  low: number[];
  high: number[];
}
export interface DiscreteJSON {
  kind: 'discrete';
  n: number;
}
export type SpaceJSON = BoxJSON | DiscreteJSON;

export class Box {
  readonly kind = 'box' as const;
  readonly low: Float32Array;
  readonly high: Float32Array;
  readonly shape: number[];

  constructor(low: number | ArrayLike<number>, high: number | ArrayLike<number>, shape?: number[]) {
    const size = shape ? shape.reduce((a, b) => a * b, 1) : typeof low === 'number' ? (typeof high === 'number' ? 1 : high.length) : low.length;
    this.shape = shape ?? [size];
    this.low = Float32Array.from({ length: size }, (_, i) => (typeof low === 'number' ? low : low[i]));
    this.high = Float32Array.from({ length: size }, (_, i) => (typeof high === 'number' ? high : high[i]));
    for (let i = 0; i < size; i++) {
      if (!(this.low[i] <= this.high[i])) throw new RangeError(`Box: low[${i}]=${this.low[i]} > high[${i}]=${this.high[i]}`);
    }
  }

  /** Number of scalar entries. */
  get size(): number {
    return this.low.length;
  }

  contains(x: ArrayLike<number>): boolean {
    if (x.length !== this.size) return false;
    for (let i = 0; i < this.size; i++) {
      const v = x[i];
      if (!(v >= this.low[i] && v <= this.high[i])) return false; // NaN fails too
    }
    return true;
  }

  /** Uniform sample; unbounded dimensions draw a standard normal, as Gymnasium does. */
  sample(rng: Rng): Float32Array {
    const out = new Float32Array(this.size);
    for (let i = 0; i < this.size; i++) {
      const lo = this.low[i];
      const hi = this.high[i];
      if (Number.isFinite(lo) && Number.isFinite(hi)) out[i] = rng.uniform(lo, hi);
      else if (Number.isFinite(lo)) out[i] = lo - Math.log(1 - rng.next());
      else if (Number.isFinite(hi)) out[i] = hi + Math.log(1 - rng.next());
      else out[i] = rng.normal();
    }
    return out;
  }

  /** A clipped copy; NaN becomes 0 clipped into range, so that a bad policy output never reaches the physics. */
  clip(x: ArrayLike<number>, out: Float32Array = new Float32Array(this.size)): Float32Array {
    if (x.length !== this.size) throw new RangeError(`Box.clip: expected ${this.size} values, got ${x.length}`);
    for (let i = 0; i < this.size; i++) {
      const v = Number.isNaN(x[i]) ? 0 : x[i];
      out[i] = Math.min(this.high[i], Math.max(this.low[i], v));
    }
    return out;
  }

  toJSON(): BoxJSON {
    const num = (v: number) => (Number.isFinite(v) ? v : v > 0 ? 1e308 : -1e308);
    return { kind: 'box', shape: this.shape, low: Array.from(this.low, num), high: Array.from(this.high, num) };
  }
}

export class Discrete {
  readonly kind = 'discrete' as const;
  constructor(readonly n: number) {
    if (!Number.isInteger(n) || n <= 0) throw new RangeError(`Discrete: n must be a positive integer, got ${n}`);
  }

  get size(): number {
    return 1;
  }

  contains(x: number): boolean {
    return Number.isInteger(x) && x >= 0 && x < this.n;
  }

  sample(rng: Rng): number {
    return rng.int(this.n);
  }

  clip(x: number): number {
    if (Number.isNaN(x)) return 0;
    return Math.min(this.n - 1, Math.max(0, Math.round(x)));
  }

  toJSON(): DiscreteJSON {
    return { kind: 'discrete', n: this.n };
  }
}

export function spaceFromJSON(json: SpaceJSON): Space {
  if (json.kind === 'discrete') return new Discrete(json.n);
  const big = (v: number) => (Math.abs(v) >= 1e308 ? Math.sign(v) * Infinity : v);
  return new Box(json.low.map(big), json.high.map(big), json.shape);
}
