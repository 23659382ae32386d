import type { Command } from 'commander';

/**
 * `embody rerun runs/<id>`: run again from config.json alone (the scene as recorded, the
 * seed, the backend and the full merged config), into a new run directory, then say whether
 * the figures and the policy came out bit-identical.
 */
export function register(program: Command): void {
  program
    .command('rerun')
    .description('reproduce a run from its config.json into a new run directory, and compare the two')
    .argument('<run>', 'runs/<id>, runs/latest, or an id prefix')
    .option('-o, --out <dir>', 'where the new run directory goes (default: beside the old one)')
    .action(async (ref: string, opts: { out?: string }) => {
      const path = await import('node:path');
      const { RunDir } = await import('../../experiment/run-dir.js');
      const { resolveRunDir } = await import('../../experiment/run-index.js');
      const { compareRuns } = await import('../../experiment/compare-runs.js');
      const dir = resolveRunDir(ref);
      const config = RunDir.open(dir).config();
      const out = opts.out ?? path.dirname(dir);
      const scene = (config.sceneConfig as never) ?? (config.sceneFile as string | undefined) ?? config.scene;
      let newDir: string | null;
      if (config.command === 'train') {
        const { train } = await import('../../experiment/train.js');
        const result = await train({
          scene,
          controller: config.controller,
          seed: config.seed,
          overrides: config.config as Record<string, unknown>,
          backend: config.backend,
          select: config.select as never,
          out,
          argv: process.argv.slice(2),
        });
        newDir = result.runDir;
      } else if (config.command === 'run') {
        const { runCommand } = await import('./run.js');
        newDir = await runCommand(scene, { controller: config.controller, episodes: String(config.episodes), seed: String(config.seed), out, save: true }, (config.sceneFile as string) ?? null);
      } else {
        throw new Error(`${dir}: embody rerun reproduces runs of \`embody train\` and \`embody run\`; this one is from \`embody ${config.command}\``);
      }
      const diff = compareRuns(dir, newDir!);
      console.log(`rerun of ${path.basename(dir)} → ${newDir}`);
      console.log(diff.identical ? `identical: ${diff.compared.join(', ')}` : `DIFFERENT: ${diff.differences.join('; ')}`);
      if (!diff.identical) process.exitCode = 1;
    });
}
