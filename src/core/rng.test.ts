import { describe, expect, it } from 'vitest';
import { Rng } from './rng.js';

describe('Rng', () => {
  it('the same seed gives the same stream, another seed another', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const xs = Array.from({ length: 100 }, () => a.next());
    expect(Array.from({ length: 100 }, () => b.next())).toEqual(xs);
    expect(Array.from({ length: 100 }, () => c.next())).not.toEqual(xs);
  });
  it('uniforms lie in [0, 1) with mean ½; normals have mean 0 and std 1', () => {
    const rng = new Rng(1);
    let sum = 0;
    let s1 = 0;
    let s2 = 0;
    const n = 20000;
    for (let i = 0; i < n; i++) {
      const u = rng.next();
      expect(u).toBeGreaterThanOrEqual(0);
      expect(u).toBeLessThan(1);
      sum += u;
      const z = rng.normal();
      s1 += z;
      s2 += z * z;
    }
    expect(sum / n).toBeCloseTo(0.5, 1);
    expect(s1 / n).toBeCloseTo(0, 1);
    expect(Math.sqrt(s2 / n)).toBeCloseTo(1, 1);
  });
  it('getState/setState resumes the stream exactly, spare normal included', () => {
    const rng = new Rng(5);
    rng.normal();
    const saved = rng.getState();
    const next = [rng.normal(), rng.next(), rng.normal()];
    const other = new Rng(999);
    other.setState(saved);
    expect([other.normal(), other.next(), other.normal()]).toEqual(next);
  });
  it('forks are independent of later draws in the parent', () => {
    const a = new Rng(9);
    const fa = a.fork();
    const b = new Rng(9);
    const fb = b.fork();
    b.next(); // an extra draw in the parent must not shift the child
    expect(fa.next()).toBe(fb.next());
  });
  it('skipNormals(n) leaves the stream where n normal() draws leave it, from either spare state', () => {
    for (const before of [0, 1]) {
      for (const n of [0, 1, 2, 3, 6, 7]) {
        const a = new Rng(9);
        const b = new Rng(9);
        for (let i = 0; i < before; i++) {
          a.normal();
          b.normal();
        }
        for (let i = 0; i < n; i++) a.normal();
        b.skipNormals(n);
        expect(b.getState()).toEqual(a.getState());
        expect([b.normal(), b.normal(), b.next()]).toEqual([a.normal(), a.normal(), a.next()]);
      }
    }
  });
});
