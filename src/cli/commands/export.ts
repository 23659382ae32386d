import type { Command } from 'commander';

/**
 * `embody export <policy dir> --format onnx [--out file]`: the policy as an ONNX graph with its
 * observation normalisation and action scaling folded in (controllers/export), for robots that
 * run onnxruntime (C++, Python, ROS 2) rather than Node.
 */
export function register(program: Command): void {
  program
    .command('export')
    .description('export a policy directory (SAC, STAC, PPO, DQN, decision transformer) to ONNX: <dir>/policy.onnx, listed in its manifest')
    .argument('<policy>', 'policy directory (manifest.json or dt.json)')
    .option('-f, --format <format>', 'output format', 'onnx')
    .option('-o, --out <file>', 'output file (default <policy dir>/policy.onnx, recorded in the manifest; a file outside the directory is written as it is)')
    .action(async (dir: string, opts: { format: string; out?: string }) => {
      const { exportPolicy } = await import('../../../controllers/export/index.js');
      const res = await exportPolicy(dir, { format: opts.format as 'onnx', out: opts.out });
      console.log(`${res.kind} policy → ${res.file} (${(res.bytes / 1024).toFixed(1)} KiB${res.recorded ? ', listed in manifest.json' : ''})`);
    });
}
