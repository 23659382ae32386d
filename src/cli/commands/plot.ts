import type { Command } from 'commander';

/**
 * `embody plot <run...>`: learning curves (mean with a ±std band across seeds) as SVG in the run
 * directories; `embody plot sweeps/<id>`: one curve per configuration of the sweep.
 */
export function register(program: Command): void {
  program
    .command('plot')
    .description('learning curves of training runs: mean eval return with a ±std band across seeds, as SVG')
    .argument('<runs...>', 'run directories, runs/latest or id prefixes (runs of the same scene and controller are averaged), or sweep directories (grouped by configuration)')
    .option('--metric <name>', 'evaluation figure to plot', 'return')
    .option('-o, --out <file>', 'write one SVG here instead of learning-curve.svg in each run directory')
    .action(async (runs: string[], opts: { metric: string; out?: string }) => {
      const { isSweepDir, plotRuns, plotSweep } = await import('../../experiment/plot.js');
      const sweeps = runs.filter(isSweepDir);
      const { resolveRunDir } = await import('../../experiment/run-index.js');
      const plain = runs.filter((r) => !isSweepDir(r)).map(resolveRunDir);
      const files = [
        ...sweeps.map((d) => plotSweep(d, { metric: opts.metric, outFile: sweeps.length === 1 ? opts.out : undefined })),
        ...(plain.length ? plotRuns(plain, { metric: opts.metric, outFile: opts.out }) : []),
      ];
      for (const f of files) console.log(`wrote ${f}`);
    });
}
