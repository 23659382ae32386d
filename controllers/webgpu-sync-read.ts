/**
 * Synchronous GPU → CPU reads for tfjs-backend-webgpu under Node.
 *
 * The learners read losses and weights with `dataSync()`. In a browser tfjs-webgpu serves that
 * through an OffscreenCanvas; Node has none, so every `dataSync()` would throw. WebGPU itself only
 * offers `mapAsync`, whose completion dawn.node delivers from a callback it schedules with the
 * global `setImmediate` (AsyncRunner::ScheduleProcessEvents) that calls Dawn's ProcessEvents. We
 * keep hold of those native callbacks and, in `readSync`, call them ourselves until the staging
 * buffer is mapped: the GPU finishes the work meanwhile on its own (or llvmpipe's) threads, and the
 * read returns without ever leaving the current JavaScript turn.
 */

/** Dawn's pending ProcessEvents callbacks; each runs once, by us or by the event loop, whichever comes first. */
const dawnTicks = new Set<() => void>();
let hooked = false;

/**
 * Wrap global setImmediate so that native callbacks (dawn.node's, the only native code here that
 * schedules through it) can also be run on demand. Everything else passes through untouched.
 * dawn.node looks setImmediate up on every call, so this works at any time before the first read
 * (backend.ts calls it before tfjs requests its device).
 */
export function captureDawnTicks(): void {
  if (hooked) return;
  hooked = true;
  const real = globalThis.setImmediate;
  const isNative = (fn: unknown) => typeof fn === 'function' && Function.prototype.toString.call(fn).endsWith('{ [native code] }');
  const wrapped = function (fn: (...a: unknown[]) => void, ...args: unknown[]) {
    if (!isNative(fn)) return real(fn, ...args);
    const run = () => {
      if (dawnTicks.delete(run)) fn(...args);
    };
    dawnTicks.add(run);
    return real(run);
  };
  globalThis.setImmediate = Object.assign(wrapped, real) as unknown as typeof setImmediate;
}

/** The parts of tfjs-backend-webgpu's WebGPUBackend (4.22) that a read goes through. */
interface WebGpuBackendInternals {
  tensorMap: { get(id: object): { values: unknown; dtype: string; resource: unknown } };
  bufferManager: { acquireBuffer(size: number, usage: number): GpuBuffer; releaseBuffer(b: GpuBuffer): void };
  commandEncoder: { copyBufferToBuffer(src: unknown, so: number, dst: GpuBuffer, d: number, size: number): void };
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  convertAndCacheOnCPU(dataId: object, values: unknown): unknown;
  readSync(dataId: object): unknown;
}
interface GpuBuffer {
  size: number;
  mapState: string;
  mapAsync(mode: number): Promise<void>;
  getMappedRange(): ArrayBuffer;
  unmap(): void;
}

/** Give up on a read after this long: a lost device must not hang the process. */
const READ_TIMEOUT_MS = 120_000;

/**
 * Replace `backend.readSync` by one that copies to a staging buffer, maps it and pumps Dawn's
 * events until the map completes. `convert` is tfjs's util.convertBackendValuesAndArrayBuffer.
 */
export function installSyncRead(backend: unknown, convert: (data: ArrayBuffer, dtype: string) => unknown): void {
  const b = backend as WebGpuBackendInternals;
  const usage = (globalThis as unknown as { GPUBufferUsage: { COPY_DST: number; MAP_READ: number } }).GPUBufferUsage;
  const mapRead = (globalThis as unknown as { GPUMapMode: { READ: number } }).GPUMapMode.READ;
  b.readSync = (dataId: object) => {
    const d = b.tensorMap.get(dataId);
    if (d.values != null || d.dtype === 'string') return d.values;
    if (d.dtype === 'complex64') throw new Error('webgpu readSync: complex64 is not supported in Node (no network here uses it)');
    const src = d.resource as GpuBuffer;
    const staging = b.bufferManager.acquireBuffer(src.size, usage.COPY_DST | usage.MAP_READ);
    b.ensureCommandEncoderReady();
    b.endComputePassEncoder();
    b.commandEncoder.copyBufferToBuffer(src, 0, staging, 0, src.size);
    b.submitQueue();
    // A failed map goes back to "unmapped" (its rejection, a microtask, cannot reach us in this loop).
    staging.mapAsync(mapRead).catch(() => {});
    const deadline = performance.now() + READ_TIMEOUT_MS;
    while (staging.mapState !== 'mapped') {
      if (staging.mapState === 'unmapped') throw new Error('webgpu readSync: mapAsync failed (device lost or validation error; see the Dawn messages above)');
      if (!dawnTicks.size) throw new Error('webgpu readSync: Dawn scheduled no event processing (was captureDawnTicks called before the device was requested?)');
      if (performance.now() > deadline) throw new Error(`webgpu readSync: no result after ${READ_TIMEOUT_MS / 1000} s (device lost?)`);
      for (const tick of [...dawnTicks]) tick();
    }
    const data = staging.getMappedRange().slice(0);
    staging.unmap();
    b.bufferManager.releaseBuffer(staging);
    return b.convertAndCacheOnCPU(dataId, convert(data, d.dtype));
  };
}
