import type { Command } from 'commander';

/** `embody scenes` and `embody check <scene>`: list scene files, validate one. */
export function register(program: Command): void {
  program
    .command('scenes')
    .description('list the scene files under scenes/ with a one-line description')
    .action(async () => {
      const { listScenes } = await import('../../../sim/registry.js');
      const rows = listScenes();
      const w = Math.max(...rows.map((r) => r.name.length), 4);
      const t = Math.max(...rows.map((r) => r.task.length), 4);
      for (const r of rows) {
        const desc = r.error ? `INVALID: ${r.error.split('\n')[0]}` : r.description;
        console.log(`${r.name.padEnd(w)}  ${r.task.padEnd(t)}  ${desc}`);
      }
    });

  program
    .command('check')
    .description('validate a scene file (name under scenes/ or a path); prints each error as file: path: reason')
    .argument('<scene>', 'scene name or path to a .json file')
    .action(async (scene: string) => {
      const { loadScene } = await import('../../../sim/registry.js');
      const { ValidationError } = await import('../../core/errors.js');
      try {
        const { file, scene: s } = loadScene(scene);
        console.log(`ok: ${file} (${s.task}: ${s.description})`);
      } catch (err) {
        if (err instanceof ValidationError) {
          process.stderr.write(err.message + '\n');
          process.exitCode = 1;
          return;
        }
        throw err;
      }
    });
}
