import type { Rng } from '../../src/core/rng.js';

/**
 * Replay buffer in typed arrays, a ring of `capacity` transitions (s, a, r, s′, terminated).
 * When full, new transitions overwrite the oldest (wraparound). Only `terminated` is stored as
 * done: a time-limit truncation still bootstraps from s′ (which is the real final observation).
 */
export interface Batch {
  obs: Float32Array;
  actions: Float32Array;
  rewards: Float32Array;
  nextObs: Float32Array;
  dones: Float32Array;
  size: number;
}

export class ReplayBuffer {
  readonly obs: Float32Array;
  readonly actions: Float32Array;
  readonly rewards: Float32Array;
  readonly nextObs: Float32Array;
  readonly dones: Float32Array;
  /** Next slot to write. */
  pos = 0;
  /** Transitions held (≤ capacity). */
  size = 0;

  constructor(
    readonly capacity: number,
    readonly obsSize: number,
    readonly actSize: number,
  ) {
    this.obs = new Float32Array(capacity * obsSize);
    this.actions = new Float32Array(capacity * actSize);
    this.rewards = new Float32Array(capacity);
    this.nextObs = new Float32Array(capacity * obsSize);
    this.dones = new Float32Array(capacity);
  }

  add(obs: ArrayLike<number>, action: ArrayLike<number>, reward: number, nextObs: ArrayLike<number>, terminated: boolean): void {
    const i = this.pos;
    this.obs.set(obs, i * this.obsSize);
    this.actions.set(action, i * this.actSize);
    this.rewards[i] = reward;
    this.nextObs.set(nextObs, i * this.obsSize);
    this.dones[i] = terminated ? 1 : 0;
    this.pos = (this.pos + 1) % this.capacity;
    this.size = Math.min(this.size + 1, this.capacity);
  }

  /** Uniform sample with replacement (as SB3 and CleanRL do), into reusable arrays. */
  sample(rng: Rng, batchSize: number, out?: Batch): Batch {
    if (this.size === 0) throw new RangeError('ReplayBuffer.sample: the buffer is empty');
    const { obsSize: o, actSize: a } = this;
    const b = out ?? {
      obs: new Float32Array(batchSize * o),
      actions: new Float32Array(batchSize * a),
      rewards: new Float32Array(batchSize),
      nextObs: new Float32Array(batchSize * o),
      dones: new Float32Array(batchSize),
      size: batchSize,
    };
    for (let k = 0; k < batchSize; k++) {
      const i = rng.int(this.size);
      b.obs.set(this.obs.subarray(i * o, (i + 1) * o), k * o);
      b.actions.set(this.actions.subarray(i * a, (i + 1) * a), k * a);
      b.rewards[k] = this.rewards[i];
      b.nextObs.set(this.nextObs.subarray(i * o, (i + 1) * o), k * o);
      b.dones[k] = this.dones[i];
    }
    return b;
  }

  /** The held transitions as one byte array (for checkpoints); `load` restores it exactly. */
  serialize(): Uint8Array {
    const n = this.size;
    const parts = [
      this.obs.subarray(0, n * this.obsSize),
      this.actions.subarray(0, n * this.actSize),
      this.rewards.subarray(0, n),
      this.nextObs.subarray(0, n * this.obsSize),
      this.dones.subarray(0, n),
    ];
    const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
    let off = 0;
    for (const p of parts) {
      out.set(p, off);
      off += p.length;
    }
    return new Uint8Array(out.buffer);
  }

  load(bytes: Uint8Array, state: { pos: number; size: number }): void {
    const n = state.size;
    const f = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    const expected = n * (2 * this.obsSize + this.actSize + 2);
    if (f.length !== expected) throw new RangeError(`ReplayBuffer.load: expected ${expected} floats, got ${f.length}`);
    let off = 0;
    const take = (dst: Float32Array, len: number) => {
      dst.set(f.subarray(off, off + len));
      off += len;
    };
    take(this.obs, n * this.obsSize);
    take(this.actions, n * this.actSize);
    take(this.rewards, n);
    take(this.nextObs, n * this.obsSize);
    take(this.dones, n);
    this.pos = state.pos;
    this.size = n;
  }
}
