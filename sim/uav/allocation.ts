/**
 * Per-slot resource allocation for the UAV data-collection task.
 *
 * In each control slot the devices in range share M resource blocks. Device n on block m would
 * deliver w[n][m] = min(r_nm·δt, D_n) bits (its rate over the slot, capped by what it still holds).
 * We maximise Σ z_nm·w_nm with each block given to at most one device and each device using at most
 * one block.
 *
 * LLM-CRDT (arXiv 2509.13934) per-slot allocation LP; its constraint matrix is totally unimodular, so the
 * LP optimum is integral and equals a maximum-weight bipartite matching (solved here as an assignment).
 *
 * Three solvers give the same optimum:
 * - `allocateExact`: Hungarian algorithm with potentials (Kuhn–Munkres, Jonker–Volgenant style shortest
 *   augmenting paths), O(k²·K) for k = min(N, M), K = max(N, M). No allocation in the solve loop: this is
 *   the one the simulator calls every slot.
 * - `allocateHighs`: the paper's LP written in CPLEX-LP format and solved by HiGHS (simplex → vertex → integral).
 * - `allocateBruteForce`: every partial matching, for tests on small N, M.
 */

export interface Allocation {
  /** Length M: the device index using block m, or -1 if the block is unused (or would carry 0 bits). */
  deviceOfBlock: Int32Array;
  /** Σ of the chosen weights (bits collected in the slot). */
  total: number;
}

function checkInput(weights: Float64Array, N: number, M: number): void {
  if (!Number.isInteger(N) || !Number.isInteger(M) || N < 0 || M < 0) {
    throw new RangeError(`allocation: N and M must be non-negative integers, got N=${N}, M=${M}`);
  }
  if (weights.length < N * M) {
    throw new RangeError(`allocation: weights has ${weights.length} entries, need N*M = ${N * M}`);
  }
  for (let k = 0; k < N * M; k++) {
    const w = weights[k];
    // `!(w >= 0)` also catches NaN.
    if (!(w >= 0) || w === Infinity) {
      throw new RangeError(`allocation: weights must be finite and >= 0, weights[${k}] = ${w}`);
    }
  }
}

/** Builds the result from a block→device map, reporting zero-weight pairs as unused. */
function finish(weights: Float64Array, M: number, deviceOfBlock: Int32Array): Allocation {
  let total = 0;
  for (let m = 0; m < M; m++) {
    const n = deviceOfBlock[m];
    if (n < 0) continue;
    const w = weights[n * M + m];
    if (w > 0) total += w;
    else deviceOfBlock[m] = -1;
  }
  return { deviceOfBlock, total };
}

/**
 * Exact maximum-weight assignment with reusable scratch buffers.
 *
 * With all weights ≥ 0, some maximum-weight partial matching saturates the smaller side (adding a
 * zero-weight pair never hurts), so we solve the rectangular min-cost assignment of the smaller side
 * (rows, k of them) into the larger one (columns, K of them) with cost −w, then drop pairs of weight 0.
 */
export class AssignmentSolver {
  private capacity = 0; // allocated k·K for `cost`
  private colCapacity = 0; // allocated K+1 for the column arrays
  private rowCapacity = 0; // allocated k+1 for `u`
  private cost = new Float64Array(0); // k×K row-major, cost[i*K+j] = −w
  private u = new Float64Array(0); // row potentials, 1-indexed
  private v = new Float64Array(0); // column potentials, 1-indexed (index 0 is the virtual column)
  private minv = new Float64Array(0);
  private rowOfCol = new Int32Array(0); // p[j]: row matched to column j (1-indexed, 0 = none)
  private way = new Int32Array(0);
  private used = new Uint8Array(0);

  private ensure(k: number, K: number): void {
    if (k * K > this.capacity) {
      this.capacity = k * K;
      this.cost = new Float64Array(this.capacity);
    }
    if (k + 1 > this.rowCapacity) {
      this.rowCapacity = k + 1;
      this.u = new Float64Array(this.rowCapacity);
    }
    if (K + 1 > this.colCapacity) {
      this.colCapacity = K + 1;
      this.v = new Float64Array(this.colCapacity);
      this.minv = new Float64Array(this.colCapacity);
      this.rowOfCol = new Int32Array(this.colCapacity);
      this.way = new Int32Array(this.colCapacity);
      this.used = new Uint8Array(this.colCapacity);
    }
  }

  /** `weights` is row-major N×M (weights[n*M+m]), all ≥ 0. The returned object is fresh (M ints). */
  solve(weights: Float64Array, N: number, M: number): Allocation {
    checkInput(weights, N, M);
    const deviceOfBlock = new Int32Array(M).fill(-1);
    if (N === 0 || M === 0) return { deviceOfBlock, total: 0 };

    // Rows are the smaller side so every row gets a column.
    const transposed = N > M;
    const k = transposed ? M : N;
    const K = transposed ? N : M;
    this.ensure(k, K);
    const { cost, u, v, minv, rowOfCol: p, way, used } = this;
    if (!transposed) {
      for (let i = 0; i < k * K; i++) cost[i] = -weights[i];
    } else {
      // Row i = block i, column j = device j.
      for (let i = 0; i < k; i++) for (let j = 0; j < K; j++) cost[i * K + j] = -weights[j * M + i];
    }
    u.fill(0, 0, k + 1);
    v.fill(0, 0, K + 1);
    p.fill(0, 0, K + 1);
    way.fill(0, 0, K + 1);

    // Shortest augmenting path Hungarian algorithm: insert row i, grow a Dijkstra-like tree over
    // reduced costs from the virtual column 0 until a free column is reached, then flip the path.
    for (let i = 1; i <= k; i++) {
      p[0] = i;
      let j0 = 0;
      minv.fill(Infinity, 0, K + 1);
      used.fill(0, 0, K + 1);
      do {
        used[j0] = 1;
        const i0 = p[j0];
        const rowBase = (i0 - 1) * K - 1; // cost of (i0, j) for 1-indexed j is cost[rowBase + j]
        const ui0 = u[i0];
        let delta = Infinity;
        let j1 = 0;
        for (let j = 1; j <= K; j++) {
          if (used[j]) continue;
          const cur = cost[rowBase + j] - ui0 - v[j];
          if (cur < minv[j]) {
            minv[j] = cur;
            way[j] = j0;
          }
          if (minv[j] < delta) {
            delta = minv[j];
            j1 = j;
          }
        }
        for (let j = 0; j <= K; j++) {
          if (used[j]) {
            u[p[j]] += delta;
            v[j] -= delta;
          } else {
            minv[j] -= delta;
          }
        }
        j0 = j1;
      } while (p[j0] !== 0);
      do {
        const j1 = way[j0];
        p[j0] = p[j1];
        j0 = j1;
      } while (j0 !== 0);
    }

    for (let j = 1; j <= K; j++) {
      const i = p[j];
      if (i === 0) continue;
      if (!transposed) deviceOfBlock[j - 1] = i - 1; // row = device, column = block
      else deviceOfBlock[i - 1] = j - 1; // row = block, column = device
    }
    return finish(weights, M, deviceOfBlock);
  }
}

const sharedSolver = new AssignmentSolver();

/** Exact max-weight assignment of blocks to devices (see `AssignmentSolver`); uses a module-level solver. */
export function allocateExact(weights: Float64Array, N: number, M: number): Allocation {
  return sharedSolver.solve(weights, N, M);
}

// ---------------------------------------------------------------------------------------------------
// HiGHS: the paper's LP, solved as an LP (no integrality constraints) to show the optimum is integral.

type HighsSolver = { solve(problem: string, options?: Record<string, unknown>): any };
let highsPromise: Promise<HighsSolver> | null = null;

/** Loads the HiGHS wasm once per process. */
export function loadHighs(): Promise<HighsSolver> {
  if (!highsPromise) {
    highsPromise = import('highs').then((mod) => (mod.default as unknown as () => Promise<HighsSolver>)());
  }
  return highsPromise;
}

/** The allocation LP in CPLEX-LP format; variable z_n_m is device n on block m. */
export function allocationLp(weights: Float64Array, N: number, M: number): string {
  const terms: string[] = [];
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) terms.push(`${weights[n * M + m]} z_${n}_${m}`);
  }
  const rows: string[] = [];
  for (let m = 0; m < M; m++) {
    const vars: string[] = [];
    for (let n = 0; n < N; n++) vars.push(`z_${n}_${m}`);
    rows.push(` block_${m}: ${vars.join(' + ')} <= 1`);
  }
  for (let n = 0; n < N; n++) {
    const vars: string[] = [];
    for (let m = 0; m < M; m++) vars.push(`z_${n}_${m}`);
    rows.push(` device_${n}: ${vars.join(' + ')} <= 1`);
  }
  const bounds: string[] = [];
  for (let n = 0; n < N; n++) for (let m = 0; m < M; m++) bounds.push(` 0 <= z_${n}_${m} <= 1`);
  return ['Maximize', ` bits: ${terms.join(' + ')}`, 'Subject To', ...rows, 'Bounds', ...bounds, 'End'].join('\n');
}

export interface HighsAllocation extends Allocation {
  /** z_nm as HiGHS returned it, row-major N×M (to check integrality). */
  z: Float64Array;
  /** HiGHS's own objective value. */
  objective: number;
}

/** The same problem as the paper's LP, solved with HiGHS (simplex). */
export async function allocateHighs(weights: Float64Array, N: number, M: number): Promise<HighsAllocation> {
  checkInput(weights, N, M);
  const deviceOfBlock = new Int32Array(M).fill(-1);
  const z = new Float64Array(N * M);
  if (N === 0 || M === 0) return { deviceOfBlock, total: 0, z, objective: 0 };
  const highs = await loadHighs();
  // Simplex returns a basic (vertex) solution, which total unimodularity makes integral.
  const sol = highs.solve(allocationLp(weights, N, M), { output_flag: false, solver: 'simplex' });
  if (sol.Status !== 'Optimal') throw new Error(`allocateHighs: HiGHS status ${sol.Status}`);
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) {
      const value: number = sol.Columns[`z_${n}_${m}`]?.Primal ?? 0;
      z[n * M + m] = value;
      if (value > 0.5) deviceOfBlock[m] = n;
    }
  }
  return { ...finish(weights, M, deviceOfBlock), z, objective: sol.ObjectiveValue };
}

// ---------------------------------------------------------------------------------------------------

/** Exhaustive search over all partial matchings: (M+1)^N leaves at most. For tests, small N, M only. */
export function allocateBruteForce(weights: Float64Array, N: number, M: number): Allocation {
  checkInput(weights, N, M);
  if (N > 10 || M > 10) throw new RangeError(`allocateBruteForce: N=${N}, M=${M} is too large`);
  const blockOfDevice = new Int32Array(N).fill(-1);
  const best = new Int32Array(N).fill(-1);
  let bestTotal = 0;
  let usedMask = 0;
  const visit = (n: number, total: number): void => {
    if (n === N) {
      if (total > bestTotal) {
        bestTotal = total;
        best.set(blockOfDevice);
      }
      return;
    }
    blockOfDevice[n] = -1;
    visit(n + 1, total);
    for (let m = 0; m < M; m++) {
      if (usedMask & (1 << m)) continue;
      usedMask |= 1 << m;
      blockOfDevice[n] = m;
      visit(n + 1, total + weights[n * M + m]);
      usedMask &= ~(1 << m);
    }
    blockOfDevice[n] = -1;
  };
  visit(0, 0);
  const deviceOfBlock = new Int32Array(M).fill(-1);
  for (let n = 0; n < N; n++) if (best[n] >= 0) deviceOfBlock[best[n]] = n;
  return finish(weights, M, deviceOfBlock);
}
