import type { Command } from 'commander';

/**
 * `embody doctor`: which TensorFlow.js backend loads here and why each other one was or was not
 * chosen, the WebGPU adapter (vendor, architecture, limits), the CUDA/cuDNN libraries
 * tfjs-node-gpu needs and whether the loader finds them, wasm threads and SIMD.
 */
export function register(program: Command): void {
  program
    .command('doctor')
    .description('report the TensorFlow.js backends: what loaded, what was not chosen and why, the WebGPU adapter, the CUDA libraries')
    .option('--backend <name>', 'check one backend only (webgpu: even on a software adapter)')
    .option('--json', 'print the report as JSON')
    .action(async (opts: { backend?: string; json?: boolean }) => {
      const { BACKEND_ORDER, initBackend } = await import('../../../controllers/backend.js');
      const { probeWebGpuAdapter, probeCudaLibraries } = await import('../../../controllers/gpu-probe.js');
      // Backends in order, stopping at the first that loads, so the report says why each earlier one failed.
      let report;
      let error: unknown = null;
      try {
        report = await initBackend(opts.backend);
      } catch (err) {
        error = err;
      }
      let adapter;
      let adapterError: string | null = null;
      try {
        adapter = report?.adapter ?? (await probeWebGpuAdapter());
      } catch (err) {
        adapterError = String((err as Error)?.message ?? err).split('\n')[0];
      }
      const ldPath = (process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
      const cuda = probeCudaLibraries(ldPath);
      if (opts.json) {
        console.log(JSON.stringify({ backend: report ?? { error: String(error) }, webgpuAdapter: adapter ?? { error: adapterError }, cudaLibraries: cuda }, null, 2));
        if (!report) process.exitCode = 1;
        return;
      }
      console.log(`node ${process.version} · ${process.platform}-${process.arch} · cores ${(await import('node:os')).cpus().length}`);
      if (report) {
        console.log(`tfjs ${report.tfjsVersion}`);
        for (const name of BACKEND_ORDER) {
          const a = report.attempts.find((x) => x.name === name);
          const status = !a ? (opts.backend ? 'not tried (--backend names another)' : 'not tried (an earlier one loaded)') : a.ok ? 'LOADED' : `not chosen: ${a.error}`;
          console.log(`  ${name.padEnd(15)} ${status}`);
        }
        console.log(`backend in use: ${report.backend}`);
        if (report.backend === 'wasm') {
          console.log(`  wasm SIMD: ${report.simd ? 'yes' : 'no'} · threads: ${report.threads} · multithread support: ${report.multithread ? 'yes' : 'no (Node: no SharedArrayBuffer workers for tfjs-wasm)'}`);
        }
        for (const n of report.notes) console.log(`  note: ${n}`);
      } else {
        console.log(`no backend loaded: ${String((error as Error)?.message ?? error)}`);
        process.exitCode = 1;
      }
      if (adapter) {
        const kind = adapter.software ? `software adapter (${adapter.softwareReason}), not auto-selected; --backend webgpu forces it` : 'hardware adapter, auto-selected after tensorflow-gpu';
        console.log(`WebGPU adapter (dawn.node): ${kind}`);
        console.log(`  vendor ${adapter.vendor || '?'} · architecture ${adapter.architecture || '?'} · device ${adapter.device || '?'}`);
        console.log(`  description: ${adapter.description || '?'}`);
        console.log(`  limits: ${Object.entries(adapter.limits).map(([k, v]) => `${k} ${v}`).join(' · ')}`);
        console.log(`  shader-f16: ${adapter.features.includes('shader-f16') ? 'yes' : 'no'} · timestamp-query: ${adapter.features.includes('timestamp-query') ? 'yes' : 'no'}`);
      } else {
        console.log(`WebGPU adapter: none (${adapterError})`);
      }
      const missing = cuda.filter((l) => !l.found);
      console.log(`CUDA libraries tfjs-node-gpu 4.x needs (CUDA 11.2, cuDNN 8.1): ${missing.length ? `${missing.length} of ${cuda.length} missing` : 'all found'}`);
      for (const l of cuda) console.log(`  ${l.name.padEnd(20)} ${l.found ?? 'not found'}`);
      console.log('GPU: webgpu needs only a Vulkan driver (npm install webgpu @tensorflow/tfjs-backend-webgpu, both ship in optionalDependencies); tfjs-node-gpu needs an NVIDIA driver > 450, CUDA 11.2 and cuDNN 8.1.0 (not CUDA 12), Linux x64; CPU native: @tensorflow/tfjs-node.');
    });
}
