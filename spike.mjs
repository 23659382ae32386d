const real = globalThis.setImmediate;
const dawnTicks = new Set();
const isNative = (fn) => Function.prototype.toString.call(fn).includes('[native code]');
let captured = 0;
globalThis.setImmediate = Object.assign(function (fn, ...args) {
  if (typeof fn === 'function' && isNative(fn)) {
    captured++;
    const e = { run: () => { if (dawnTicks.delete(e)) fn(...args); } };
    dawnTicks.add(e);
    return real(e.run);
  }
  return real(fn, ...args);
}, real);
const { create, globals } = await import('webgpu');
Object.assign(globalThis, globals);
const gpu = create([]);
const adapter = await gpu.requestAdapter();
const device = await adapter.requestDevice();
console.log('captured so far', captured);
function readSync(src, size) {
  const staging = device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(src, 0, staging, 0, size);
  device.queue.submit([enc.finish()]);
  staging.mapAsync(GPUMapMode.READ).catch(() => {});
  let spins = 0;
  const t0 = performance.now();
  while (staging.mapState !== 'mapped') {
    const fns = [...dawnTicks];
    if (!fns.length) throw new Error('no pending dawn tick; mapState ' + staging.mapState);
    for (const e of fns) e.run();
    spins++;
  }
  console.log('spins', spins, (performance.now()-t0).toFixed(2), 'ms');
  const out = new Float32Array(staging.getMappedRange().slice(0));
  staging.unmap(); staging.destroy();
  return out;
}
const src = device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
device.queue.writeBuffer(src, 0, new Float32Array([1, 2, 3, 4]));
console.log(readSync(src, 16));
device.queue.writeBuffer(src, 0, new Float32Array([5, 6, 7, 8]));
console.log(readSync(src, 16));
await new Promise(r => setTimeout(r, 10));
console.log(readSync(src, 16));
