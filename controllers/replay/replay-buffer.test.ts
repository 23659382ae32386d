import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { ReplayBuffer } from './replay-buffer.js';

describe('ReplayBuffer', () => {
  it('wraps around: the oldest transitions are overwritten, size stays at capacity', () => {
    const b = new ReplayBuffer(4, 2, 1);
    for (let i = 0; i < 6; i++) b.add([i, -i], [i / 10], i, [i + 1, -i - 1], i === 5);
    expect(b.size).toBe(4);
    expect(b.pos).toBe(2);
    // Slots 0 and 1 now hold transitions 4 and 5; slots 2, 3 still hold 2, 3.
    expect(Array.from(b.rewards)).toEqual([4, 5, 2, 3]);
    expect(Array.from(b.obs.subarray(0, 4))).toEqual([4, -4, 5, -5]);
    expect(Array.from(b.dones)).toEqual([0, 1, 0, 0]);
    const s = b.sample(new Rng(1), 100);
    expect(new Set(s.rewards).size).toBe(4);
    for (let k = 0; k < 100; k++) expect(s.nextObs[2 * k]).toBe(s.obs[2 * k] + 1);
    const copy = new ReplayBuffer(4, 2, 1);
    copy.load(b.serialize(), { pos: b.pos, size: b.size });
    expect(Array.from(copy.nextObs)).toEqual(Array.from(b.nextObs));
  });
});
