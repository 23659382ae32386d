import { describe, expect, it } from 'vitest';
import { fingerprint } from './episode-fingerprint.js';

describe('episode fingerprint', () => {
  it('is the same for the same seed and differs for another, on real episodes', async () => {
    const a = await fingerprint(['cartpole', 'random', 2, 0]);
    const b = await fingerprint(['cartpole', 'random', 2, 0]);
    const c = await fingerprint(['cartpole', 'random', 2, 1]);
    expect(a.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(b).toEqual(a);
    expect(c.sha256).not.toBe(a.sha256);
    // One description per episode and a frame per step plus one per reset.
    expect(a.frames).toBe(a.steps + 2);
    expect(a.steps).toBeGreaterThan(2);
  });
});
