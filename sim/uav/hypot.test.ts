import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { hypot2, hypot3 } from './hypot.js';

describe('hypot2 / hypot3', () => {
  it('give the same doubles as Math.hypot, over scales, signs and float32 inputs', () => {
    const rng = new Rng(11);
    for (let i = 0; i < 200000; i++) {
      const scale = [1e-6, 1e-3, 1, 15, 300, 1e30][i % 6];
      const v = [0, 1, 2].map((a) => {
        const x = rng.normal(0, scale) * (a === i % 3 && i % 5 === 0 ? 1e-5 : 1);
        return i % 2 ? Math.fround(x) : x;
      });
      expect(hypot3(v[0], v[1], v[2])).toBe(Math.hypot(v[0], v[1], v[2]));
      expect(hypot2(v[0], v[1])).toBe(Math.hypot(v[0], v[1]));
    }
  });

  it('zero, infinite and NaN arguments as Math.hypot has them', () => {
    const odd = [0, -0, 3, -4, Infinity, -Infinity, NaN, 5e-324];
    for (const x of odd) {
      for (const y of odd) {
        expect(hypot2(x, y)).toBe(Math.hypot(x, y));
        for (const z of odd) expect(hypot3(x, y, z)).toBe(Math.hypot(x, y, z));
      }
    }
  });
});
