import * as tf from '@tensorflow/tfjs';

/**
 * Adam and Polyak steps as wasm SIMD loops (f32x4) over tfjs-wasm's own memory: the parameters,
 * gradients and moments are read and written where they lie, four floats per instruction, in
 * float32 arithmetic (as PyTorch's CPU Adam computes). A JS loop does the same in float64 at
 * ~10 ns per parameter (a square root and a division each); this is ~5× less.
 *
 * The module is a few hundred bytes assembled below (no toolchain): it imports the memory of the
 * tfjs-wasm instance, so it only runs on the wasm backend with a non-shared memory (the
 * single-threaded build). `simdKernels()` is null elsewhere and callers keep their JS loops.
 */
export interface SimdKernels {
  /** Adam over n floats at byte offsets p, g, m, v (n a multiple of 4). */
  adam(p: number, g: number, m: number, v: number, n: number, b1: number, c1: number, b2: number, c2: number, stepSize: number, invSqrtBc2: number, eps: number, clip: number): void;
  /** Σ x² over n floats at byte offset x (n a multiple of 4), summed in four float32 lanes. */
  sumSquares(x: number, n: number): number;
  /** t ← τ·s + (1 − τ)·t over n floats (n a multiple of 4). */
  polyak(t: number, s: number, n: number, tau: number, oneMinusTau: number): void;
  /** Allocate n floats in the wasm heap (16-byte aligned, zeroed); returns the byte offset. */
  alloc(n: number): number;
  /** Give back what `alloc` returned. */
  free(offset: number): void;
  /** A view of n floats at a byte offset (take it anew after any allocation: the heap may grow). */
  view(offset: number, n: number): Float32Array;
}

const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
};
const str = (s: string) => [...uleb(s.length), ...Buffer.from(s, 'utf8')];
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];

// Opcodes.
const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;
const get = (i: number) => [0x20, ...uleb(i)];
const set = (i: number) => [0x21, ...uleb(i)];
const i32Const = (n: number) => [0x41, ...uleb(n)]; // small non-negative constants only (< 64)
const simd = (op: number) => [0xfd, ...uleb(op)];
const load = [...simd(0x00), 0x00, 0x00];
const store = [...simd(0x0b), 0x00, 0x00];
const splat = simd(0x13);
const [SQRT, ADD, SUB, MUL, DIV] = [0xe3, 0xe4, 0xe5, 0xe6, 0xe7].map(simd);
const I32_ADD = [0x6a];
const addr = (base: number, i: number) => [...get(base), ...get(i), ...I32_ADD];

/** A loop `for (i = 0; i < n·4; i += 16) body` over byte offsets; `i` and `end` are locals. */
function loop(n: number, i: number, end: number, body: number[]): number[] {
  return [
    ...get(n), ...i32Const(2), 0x74, ...set(end), // end = n << 2
    ...i32Const(0), ...set(i),
    0x02, 0x40, 0x03, 0x40, // block, loop
    ...get(i), ...get(end), 0x4f, 0x0d, 0x01, // if (i >= end) break
    ...body,
    ...get(i), ...i32Const(16), ...I32_ADD, ...set(i),
    0x0c, 0x00, 0x0b, 0x0b, // continue; end loop; end block
  ];
}

function moduleBytes(): Uint8Array<ArrayBuffer> {
  // adam(p, g, m, v, n: i32, b1, c1, b2, c2, step, inv, eps, clip: f32); locals i, end: i32; 8 splats + gi, mi, vi: v128.
  const [p, g, m, v, n] = [0, 1, 2, 3, 4];
  const [i, end] = [13, 14];
  const s = (k: number) => 15 + k; // splat of param 5 + k
  const [gi, mi, vi] = [23, 24, 25];
  const splats = Array.from({ length: 8 }, (_, k) => [...get(5 + k), ...splat, ...set(s(k))]).flat();
  const adamBody = [
    ...splats,
    ...loop(n, i, end, [
      ...addr(g, i), ...load, ...get(s(7)), ...MUL, ...set(gi), // gi = g·clip
      ...get(s(0)), ...addr(m, i), ...load, ...MUL, ...get(s(1)), ...get(gi), ...MUL, ...ADD, ...set(mi), // mi = b1·m + c1·gi
      ...get(s(2)), ...addr(v, i), ...load, ...MUL, ...get(s(3)), ...get(gi), ...get(gi), ...MUL, ...MUL, ...ADD, ...set(vi), // vi = b2·v + c2·gi²
      ...addr(m, i), ...get(mi), ...store,
      ...addr(v, i), ...get(vi), ...store,
      ...addr(p, i), // p −= step·mi / (√vi·inv + eps)
      ...addr(p, i), ...load,
      ...get(s(4)), ...get(mi), ...MUL,
      ...get(vi), ...SQRT, ...get(s(5)), ...MUL, ...get(s(6)), ...ADD,
      ...DIV, ...SUB, ...store,
    ]),
    0x0b,
  ];
  const adam = [...vec([[2, I32], [11, V128]].map(([c, t]) => [...uleb(c), t])), ...adamBody];
  // polyak(t, s, n: i32, tau, omt: f32); locals i, end: i32; splats of tau, omt: v128.
  const polyakBody = [
    ...get(3), ...splat, ...set(7), ...get(4), ...splat, ...set(8),
    ...loop(2, 5, 6, [...addr(0, 5), ...get(7), ...addr(1, 5), ...load, ...MUL, ...get(8), ...addr(0, 5), ...load, ...MUL, ...ADD, ...store]),
    0x0b,
  ];
  const polyak = [...vec([[2, I32], [2, V128]].map(([c, t]) => [...uleb(c), t])), ...polyakBody];
  // sumSquares(x, n: i32) → f64; locals i, end: i32; acc, x: v128. The four lanes added in float64 at the end.
  const lane = (k: number) => [...get(4), ...simd(0x1f), k, 0xbb]; // f32x4.extract_lane k, f64.promote_f32
  const sumBody = [
    ...loop(1, 2, 3, [...addr(0, 2), ...load, ...set(5), ...get(4), ...get(5), ...get(5), ...MUL, ...ADD, ...set(4)]),
    ...lane(0), ...lane(1), 0xa0, ...lane(2), 0xa0, ...lane(3), 0xa0,
    0x0b,
  ];
  const sumSquares = [...vec([[2, I32], [2, V128]].map(([c, t]) => [...uleb(c), t])), ...sumBody];
  const types = vec([
    [0x60, ...vec([I32, I32, I32, I32, I32, F32, F32, F32, F32, F32, F32, F32, F32].map((t) => [t])), 0x00],
    [0x60, ...vec([I32, I32, I32, F32, F32].map((t) => [t])), 0x00],
    [0x60, ...vec([I32, I32].map((t) => [t])), 0x01, 0x7c],
  ]);
  const imports = vec([[...str('env'), ...str('memory'), 0x02, 0x00, 0x00]]);
  const funcs = vec([[0x00], [0x01], [0x02]]);
  const exports = vec([
    [...str('adam'), 0x00, 0x00],
    [...str('polyak'), 0x00, 0x01],
    [...str('sumSquares'), 0x00, 0x02],
  ]);
  const code = vec([adam, polyak, sumSquares].map((body) => [...uleb(body.length), ...body]));
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...section(1, types), ...section(2, imports), ...section(3, funcs), ...section(7, exports), ...section(10, code)]);
}

interface WasmModuleLike {
  asm?: { memory?: WebAssembly.Memory };
  _malloc?: (bytes: number) => number;
  _free?: (ptr: number) => void;
  HEAPU8: Uint8Array;
}
let cached: { module: WasmModuleLike; kernels: SimdKernels | null } | null = null;

/** The SIMD kernels bound to the current tfjs-wasm instance, or null (another backend, shared memory, no SIMD). */
export function simdKernels(): SimdKernels | null {
  if (tf.getBackend() !== 'wasm') return null;
  const module = (tf.engine().backend as unknown as { wasm?: WasmModuleLike }).wasm;
  if (!module) return null;
  if (cached?.module === module) return cached.kernels;
  let kernels: SimdKernels | null = null;
  const memory = module.asm?.memory;
  const malloc = module._malloc;
  const raw = new Map<number, number>(); // aligned offset → the pointer malloc gave
  if (memory && malloc && !(memory.buffer instanceof SharedArrayBuffer)) {
    try {
      const instance = new WebAssembly.Instance(new WebAssembly.Module(moduleBytes()), { env: { memory } });
      const ex = instance.exports as unknown as Pick<SimdKernels, 'adam' | 'polyak' | 'sumSquares'>;
      kernels = {
        adam: ex.adam,
        polyak: ex.polyak,
        sumSquares: ex.sumSquares,
        alloc: (n) => {
          const off = malloc(n * 4 + 16);
          const aligned = (off + 15) & ~15;
          raw.set(aligned, off);
          new Float32Array(module.HEAPU8.buffer, aligned, n).fill(0);
          return aligned;
        },
        free: (offset) => {
          const off = raw.get(offset);
          if (off === undefined) return;
          raw.delete(offset);
          module._free?.(off);
        },
        view: (offset, n) => new Float32Array(module.HEAPU8.buffer, offset, n),
      };
    } catch {
      kernels = null; // no wasm SIMD in this runtime
    }
  }
  cached = { module, kernels };
  return kernels;
}
