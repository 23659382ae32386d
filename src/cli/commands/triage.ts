import type { Command } from 'commander';

/**
 * `embody triage <dataset|run>`: rank episodes by trajectory signals (loop, stagnation, exhaustion,
 * failure, safety; severity 0–3), most informative first (src/data/signals.ts).
 */
export function register(program: Command): void {
  program
    .command('triage')
    .description('rank the episodes of a dataset or run directory by trajectory signals, most informative first')
    .argument('<path>', 'dataset directory (embody collect), or a run (runs/<id>, runs/latest, an id prefix)')
    .option('-n, --top <n>', 'rows to print', '20')
    .option('--json', 'print every report as JSON')
    .action(async (refArg: string, opts: { top: string; json?: boolean }) => {
      const { existsSync, readFileSync } = await import('node:fs');
      const path = await import('node:path');
      const { resolveRunDir } = await import('../../experiment/run-index.js');
      const ref = existsSync(refArg) && !refArg.endsWith('latest') ? refArg : resolveRunDir(refArg);
      const signals = await import('../../data/signals.js');
      let reports;
      let label: string;
      if (existsSync(path.join(ref, 'summary.json')) && !existsSync(path.join(ref, 'data'))) {
        const summary = JSON.parse(readFileSync(path.join(ref, 'summary.json'), 'utf8')) as { episodesDetail?: { episode: number; return: number; length: number; endReason: string; metrics: Record<string, number> }[] };
        if (!summary.episodesDetail) throw new Error(`${ref}/summary.json has no episodesDetail to triage`);
        reports = signals.triageRunEpisodes(summary.episodesDetail);
        label = `run ${path.basename(ref)} (episode-level signals only: runs keep no per-step data)`;
      } else {
        const { readDataset } = await import('../../data/minari.js');
        const ds = await readDataset(ref);
        reports = signals.triageDataset(ds);
        label = `dataset ${ds.meta.datasetId}, ${ds.episodes.length} episodes`;
      }
      if (opts.json) {
        console.log(JSON.stringify(reports, null, 2));
        return;
      }
      console.log(label);
      console.log(signals.formatTriage(reports, Number(opts.top)));
      const flagged = reports.filter((r) => r.score > 0).length;
      console.log(`${flagged}/${reports.length} episodes show at least one signal`);
    });
}
