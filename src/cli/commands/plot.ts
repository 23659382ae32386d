import type { Command } from 'commander';

/**
 * `embody plot <run...>`: learning curves (mean with a ±std band across seeds) as SVG in the run
 * directories; `embody plot sweeps/<id>`: one curve per configuration of the sweep;
 * `embody plot bench/results/<file>.json`: the training curve a results JSON stores
 * (`figures.training`, e.g. the manipulation critic's), beside it or at --out.
 */
export function register(program: Command): void {
  program
    .command('plot')
    .description('learning curves of training runs (mean eval return with a ±std band across seeds), or the training curve a results JSON stores, as SVG')
    .argument('<runs...>', 'run directories, runs/latest or id prefixes (runs of the same scene and controller are averaged), sweep directories (grouped by configuration), or results JSONs with a training curve (figures.training)')
    .option('--metric <name>', 'evaluation figure to plot (results JSON: comma-separated training figures; default success,loss)')
    .option('-o, --out <file>', 'write one SVG here instead of learning-curve.svg in each run directory')
    .action(async (runs: string[], opts: { metric?: string; out?: string }) => {
      const { isResultsFile, isSweepDir, plotResultsTraining, plotRuns, plotSweep } = await import('../../experiment/plot.js');
      const results = runs.filter(isResultsFile);
      const sweeps = runs.filter((r) => !isResultsFile(r) && isSweepDir(r));
      const { resolveRunDir } = await import('../../experiment/run-index.js');
      const plain = runs.filter((r) => !isResultsFile(r) && !isSweepDir(r)).map(resolveRunDir);
      const one = runs.length === 1 ? opts.out : undefined;
      const files = [
        ...results.map((f) => plotResultsTraining(f, { metrics: opts.metric?.split(','), outFile: one })),
        ...sweeps.map((d) => plotSweep(d, { metric: opts.metric, outFile: sweeps.length === 1 ? opts.out : undefined })),
        ...(plain.length ? plotRuns(plain, { metric: opts.metric, outFile: opts.out }) : []),
      ];
      for (const f of files) console.log(`wrote ${f}`);
    });
}
