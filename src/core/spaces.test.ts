import { describe, expect, it } from 'vitest';
import { Rng } from './rng.js';
import { Box, Discrete, spaceFromJSON } from './spaces.js';

describe('Box', () => {
  const box = new Box([-1, 0], [1, 5]);
  it('contains in-range points only, NaN never', () => {
    expect(box.contains([0, 2])).toBe(true);
    expect(box.contains([1.01, 2])).toBe(false);
    expect(box.contains([0, NaN])).toBe(false);
    expect(box.contains([0])).toBe(false);
  });
  it('samples inside its bounds, reproducibly from a seed', () => {
    const a = new Rng(3);
    const b = new Rng(3);
    for (let i = 0; i < 1000; i++) {
      const x = box.sample(a);
      expect(box.contains(x)).toBe(true);
      expect(Array.from(x)).toEqual(Array.from(box.sample(b)));
    }
  });
  it('clips, and turns NaN into an in-range value', () => {
    expect(Array.from(box.clip([3, -2]))).toEqual([1, 0]);
    expect(box.contains(box.clip([NaN, NaN]))).toBe(true);
  });
  it('round-trips through JSON, infinite bounds included', () => {
    const inf = new Box(-Infinity, Infinity, [2, 3]);
    const back = spaceFromJSON(JSON.parse(JSON.stringify(inf.toJSON()))) as Box;
    expect(back.shape).toEqual([2, 3]);
    expect(back.low[0]).toBe(-Infinity);
    expect(back.size).toBe(6);
  });
});

describe('Discrete', () => {
  const d = new Discrete(4);
  it('contains integers in [0, n)', () => {
    expect(d.contains(3)).toBe(true);
    expect(d.contains(4)).toBe(false);
    expect(d.contains(1.5)).toBe(false);
  });
  it('samples every value, roughly uniformly', () => {
    const rng = new Rng(0);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) counts[d.sample(rng)]++;
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(120);
  });
  it('clips into range', () => {
    expect(d.clip(7)).toBe(3);
    expect(d.clip(-1)).toBe(0);
    expect(d.clip(NaN)).toBe(0);
  });
});
