import type { Command } from 'commander';

/** `embody plot <run...>`: learning curves (mean with a ±std band across seeds) as SVG in the run directories. */
export function register(program: Command): void {
  program
    .command('plot')
    .description('learning curves of training runs: mean eval return with a ±std band across seeds, as SVG')
    .argument('<runs...>', 'run directories, runs/latest or id prefixes (runs of the same scene and controller are averaged)')
    .option('--metric <name>', 'evaluation figure to plot', 'return')
    .option('-o, --out <file>', 'write one SVG here instead of learning-curve.svg in each run directory')
    .action(async (runs: string[], opts: { metric: string; out?: string }) => {
      const { plotRuns } = await import('../../experiment/plot.js');
      const { resolveRunDir } = await import('../../experiment/run-index.js');
      const files = plotRuns(runs.map(resolveRunDir), { metric: opts.metric, outFile: opts.out });
      for (const f of files) console.log(`wrote ${f}`);
    });
}
