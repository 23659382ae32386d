import type { Command } from 'commander';

/** `embody runs [dir]`: the run directories, newest last, with task, controller, steps and final return. */
export function register(program: Command): void {
  program
    .command('runs')
    .description('list run directories (also the runs inside sweeps and --seeds): id, command, scene, task, controller, seed, steps or episodes, final mean return')
    .argument('[dir]', 'directory of run directories', 'runs')
    .option('--json', 'print the listing as JSON')
    .action(async (root: string, opts: { json?: boolean }) => {
      const { describeRun, listRunDirs } = await import('../../experiment/run-index.js');
      const { formatNumber } = await import('../../core/format.js');
      const rows = listRunDirs(root, { sweeps: true }).map((dir) => describeRun(dir, root));
      if (opts.json) {
        console.log(JSON.stringify(rows, null, 2));
        return;
      }
      if (!rows.length) {
        console.log(`no runs under ${root}/`);
        return;
      }
      const table = [
        ['id', 'command', 'scene', 'task', 'controller', 'seed', 'steps/episodes', 'final return'],
        ...rows.map((r) => [
          r.id,
          r.command,
          r.scene,
          r.task ?? '?',
          r.controller,
          String(r.seed),
          r.steps !== undefined ? `${r.steps} steps` : r.episodes !== undefined ? `${r.episodes} episodes` : '—',
          r.finalReturn !== undefined ? formatNumber(r.finalReturn) : r.finished ? '—' : 'unfinished',
        ]),
      ];
      const widths = table[0].map((_, j) => Math.max(...table.map((row) => row[j].length)));
      for (const row of table) console.log(row.map((cell, j) => (j >= 5 ? cell.padStart(widths[j]) : cell.padEnd(widths[j]))).join('  ').trimEnd());
      console.log(`${rows.length} run${rows.length > 1 ? 's' : ''}; "final return" is the last evaluation's mean (train) or the episodes' mean (run); ${root}/latest is the newest`);
    });
}
