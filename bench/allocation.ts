/**
 * Micro-benchmark of the per-slot allocation solvers (sim/uav/allocation.ts).
 * Prints µs per call for the exact assignment solver (the simulator's hot path) and for HiGHS on the
 * same LP. Run: npx tsx bench/allocation.ts
 */
import { Rng } from '../src/core/rng.js';
import { allocateExact, allocateHighs, loadHighs } from '../sim/uav/allocation.js';

function makeCases(N: number, M: number, count: number, seed: number): Float64Array[] {
  const rng = new Rng(seed);
  const cases: Float64Array[] = [];
  for (let c = 0; c < count; c++) {
    const w = new Float64Array(N * M);
    for (let n = 0; n < N; n++) {
      const held = rng.uniform(0, 2e5); // bits the device still holds
      for (let m = 0; m < M; m++) w[n * M + m] = Math.min(rng.uniform(0, 3e5), held);
    }
    cases.push(w);
  }
  return cases;
}

function timeExact(N: number, M: number, calls: number): number {
  const cases = makeCases(N, M, 256, 1);
  let sink = 0;
  for (let i = 0; i < 20_000; i++) sink += allocateExact(cases[i & 255], N, M).total; // warm-up (JIT)
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) sink += allocateExact(cases[i & 255], N, M).total;
  const us = ((performance.now() - t0) * 1000) / calls;
  if (!(sink > 0)) throw new Error('benchmark produced no allocation');
  return us;
}

async function timeHighs(N: number, M: number, calls: number): Promise<number> {
  const cases = makeCases(N, M, calls + 100, 2);
  await loadHighs();
  for (let i = 0; i < 100; i++) await allocateHighs(cases[i], N, M); // warm-up
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) await allocateHighs(cases[100 + i], N, M);
  return ((performance.now() - t0) * 1000) / calls;
}

const rows: Array<[string, number, number, number]> = [];
for (const [N, M] of [
  [6, 4],
  [12, 4],
  [16, 8],
] as const) {
  rows.push(['allocateExact (Hungarian)', N, M, timeExact(N, M, 200_000)]);
}
for (const [N, M] of [
  [12, 4],
  [16, 8],
] as const) {
  rows.push(['allocateHighs (LP, simplex)', N, M, await timeHighs(N, M, 300)]);
}
console.log('solver                        N   M   µs/call');
for (const [name, N, M, us] of rows) {
  console.log(`${name.padEnd(28)} ${String(N).padStart(3)} ${String(M).padStart(3)} ${us.toFixed(2).padStart(9)}`);
}
