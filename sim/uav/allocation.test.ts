import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import {
  AssignmentSolver,
  allocateBruteForce,
  allocateExact,
  allocateHighs,
  allocationLp,
  type Allocation,
} from './allocation.js';

/** Random weights in one of several styles so ties, zeros and the min(r·δt, D) cap all show up. */
function randomWeights(rng: Rng, N: number, M: number): Float64Array {
  const w = new Float64Array(N * M);
  const style = rng.int(4);
  if (style === 3) {
    // The task's own shape: rate × slot, capped by the device's remaining data (equal caps tie rows).
    for (let n = 0; n < N; n++) {
      const held = rng.next() < 0.3 ? 0 : rng.uniform(0, 2e5);
      for (let m = 0; m < M; m++) w[n * M + m] = Math.min(rng.uniform(0, 3e5), held);
    }
    return w;
  }
  for (let k = 0; k < N * M; k++) {
    if (rng.next() < 0.25) w[k] = 0;
    else if (style === 0) w[k] = rng.uniform(0, 10);
    else if (style === 1) w[k] = rng.int(4); // small integers: many ties
    else w[k] = rng.uniform(0, 1e6) * (rng.next() < 0.5 ? 1e-6 : 1); // mixed scales
  }
  return w;
}

/** Every allocation must be a valid matching whose `total` is exactly the sum of its chosen weights. */
function expectValid(a: Allocation, w: Float64Array, N: number, M: number): void {
  expect(a.deviceOfBlock.length).toBe(M);
  const seen = new Set<number>();
  let sum = 0;
  for (let m = 0; m < M; m++) {
    const n = a.deviceOfBlock[m];
    if (n === -1) continue;
    expect(n).toBeGreaterThanOrEqual(0);
    expect(n).toBeLessThan(N);
    expect(seen.has(n)).toBe(false);
    seen.add(n);
    expect(w[n * M + m]).toBeGreaterThan(0); // zero-weight pairs are reported as -1
    sum += w[n * M + m];
  }
  expect(a.total).toBe(sum);
}

function relClose(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
}

describe('allocateExact', () => {
  it('solves a hand-computed case', () => {
    // Devices × blocks. Greedy would give device 0 block 0 (9) then device 1 block 1 (1) = 10,
    // but the optimum is 0→1 (8) + 1→0 (7) + 2→2 (3) = 18.
    const w = new Float64Array([
      9, 8, 0, //
      7, 1, 0, //
      6, 5, 3, //
      0, 0, 2,
    ]);
    const a = allocateExact(w, 4, 3);
    expect(Array.from(a.deviceOfBlock)).toEqual([1, 0, 2]);
    expect(a.total).toBe(18);
    expect(allocateBruteForce(w, 4, 3).total).toBe(18);
  });

  it('leaves blocks nobody can use unassigned and handles empty sides', () => {
    const w = new Float64Array([0, 5, 0, 0, 0, 0]); // 2 devices × 3 blocks
    const a = allocateExact(w, 2, 3);
    expect(Array.from(a.deviceOfBlock)).toEqual([-1, 0, -1]);
    expect(a.total).toBe(5);
    expect(allocateExact(new Float64Array(6), 2, 3)).toEqual({ deviceOfBlock: new Int32Array([-1, -1, -1]), total: 0 });
    expect(allocateExact(new Float64Array(0), 0, 4).deviceOfBlock).toEqual(new Int32Array([-1, -1, -1, -1]));
    expect(allocateExact(new Float64Array(0), 3, 0).total).toBe(0);
  });

  it('rejects negative, NaN or missing weights', () => {
    expect(() => allocateExact(new Float64Array([1, -1]), 1, 2)).toThrow(/>= 0/);
    expect(() => allocateExact(new Float64Array([1, NaN]), 2, 1)).toThrow(/>= 0/);
    expect(() => allocateExact(new Float64Array([1]), 2, 1)).toThrow(/need N\*M/);
  });

  it('matches brute force on 600 random small cases (N, M in 1..5)', () => {
    const rng = new Rng(2);
    let wide = 0;
    let tall = 0;
    for (let c = 0; c < 600; c++) {
      const N = 1 + rng.int(5);
      const M = 1 + rng.int(5);
      if (N < M) wide++;
      if (N > M) tall++;
      const w = randomWeights(rng, N, M);
      const exact = allocateExact(w, N, M);
      const brute = allocateBruteForce(w, N, M);
      expectValid(exact, w, N, M);
      expectValid(brute, w, N, M);
      if (!relClose(exact.total, brute.total)) {
        throw new Error(`case ${c}: N=${N} M=${M} exact ${exact.total} != brute ${brute.total}; w=${Array.from(w)}`);
      }
    }
    expect(wide).toBeGreaterThan(100);
    expect(tall).toBeGreaterThan(100);
  });

  it('gives the same answer when the solver is reused across growing and shrinking sizes', () => {
    const rng = new Rng(3);
    const reused = new AssignmentSolver();
    for (let c = 0; c < 100; c++) {
      const N = 1 + rng.int(12);
      const M = 1 + rng.int(8);
      const w = randomWeights(rng, N, M);
      const a = reused.solve(w, N, M);
      const b = new AssignmentSolver().solve(w, N, M);
      expect(a).toEqual(b);
    }
  });
});

describe('allocateHighs (the paper LP)', () => {
  it('matches allocateExact on 40 cases up to N=12, M=6, and its LP optimum is integral', async () => {
    const rng = new Rng(5);
    for (let c = 0; c < 40; c++) {
      const big = c >= 10;
      const N = big ? 4 + rng.int(9) : 1 + rng.int(5); // up to 12
      const M = big ? 2 + rng.int(5) : 1 + rng.int(5); // up to 6
      const w = randomWeights(rng, N, M);
      const lp = await allocateHighs(w, N, M);
      const exact = allocateExact(w, N, M);
      expectValid(lp, w, N, M);
      // Total unimodularity: the simplex vertex is 0/1 in every coordinate.
      for (const z of lp.z) expect(Math.min(Math.abs(z), Math.abs(z - 1))).toBeLessThan(1e-9);
      expect(relClose(lp.objective, lp.total)).toBe(true);
      if (!relClose(lp.total, exact.total)) {
        throw new Error(`case ${c}: N=${N} M=${M} highs ${lp.total} != exact ${exact.total}; w=${Array.from(w)}`);
      }
      if (N <= 5 && M <= 5) expect(relClose(lp.total, allocateBruteForce(w, N, M).total)).toBe(true);
    }
  });

  it('writes a readable CPLEX-LP model and solves the hand-computed case', async () => {
    const w = new Float64Array([9, 8, 0, 7, 1, 0, 6, 5, 3, 0, 0, 2]);
    const text = allocationLp(w, 4, 3);
    expect(text).toContain('block_2: z_0_2 + z_1_2 + z_2_2 + z_3_2 <= 1');
    expect(text).toContain('device_3: z_3_0 + z_3_1 + z_3_2 <= 1');
    const lp = await allocateHighs(w, 4, 3);
    expect(Array.from(lp.deviceOfBlock)).toEqual([1, 0, 2]);
    expect(lp.total).toBe(18);
  });

  it('handles weights that print in exponent notation (1e-7, 3e+21)', async () => {
    const w = new Float64Array([1e-7, 3e21, 2e-7, 0]); // 2 devices × 2 blocks
    expect(allocationLp(w, 2, 2)).toContain('3e+21 z_0_1');
    const lp = await allocateHighs(w, 2, 2);
    expect(Array.from(lp.deviceOfBlock)).toEqual([1, 0]);
    expect(lp.total).toBe(3e21 + 2e-7);
    expect(allocateExact(w, 2, 2).deviceOfBlock).toEqual(lp.deviceOfBlock);
  });
});
