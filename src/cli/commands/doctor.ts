import type { Command } from 'commander';

/**
 * `embody doctor`: which TensorFlow.js backend loads here, which did not and why, wasm threads
 * and SIMD, and the GPU install hint.
 */
export function register(program: Command): void {
  program
    .command('doctor')
    .description('report the TensorFlow.js backend: what loaded, what failed and why, threads, SIMD')
    .option('--backend <name>', 'check one backend only')
    .option('--json', 'print the report as JSON')
    .action(async (opts: { backend?: string; json?: boolean }) => {
      const { BACKEND_ORDER, initBackend } = await import('../../../controllers/backend.js');
      // Try every backend in order so the report says why each earlier one failed.
      let report;
      let error: unknown = null;
      try {
        report = await initBackend(opts.backend);
      } catch (err) {
        error = err;
      }
      if (opts.json) {
        console.log(JSON.stringify(report ?? { error: String(error) }, null, 2));
        return;
      }
      console.log(`node ${process.version} · ${process.platform}-${process.arch} · cores ${(await import('node:os')).cpus().length}`);
      if (report) {
        console.log(`tfjs ${report.tfjsVersion}`);
        for (const name of BACKEND_ORDER) {
          const a = report.attempts.find((x) => x.name === name);
          const status = !a ? 'not tried (an earlier one loaded)' : a.ok ? 'LOADED' : `failed: ${a.error}`;
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
      console.log('GPU: npm install @tensorflow/tfjs-node-gpu (4.x needs an NVIDIA driver > 450, CUDA 11.2 and cuDNN 8.1.0, Linux x64); CPU native: @tensorflow/tfjs-node.');
    });
}
