import type { Command } from 'commander';
import { DEFAULT_SCENE } from '../options.js';

/**
 * `embody collect <scene> --controller <name|policy> --episodes N [--noise σ] --out datasets/<name>`
 * or `--mix "tour:0.2,greedy+noise:0.3,random:0.5"`: record a Minari-layout HDF5 dataset and its
 * card. An interrupted collection resumes when rerun with the same arguments (src/data/collect.ts).
 */
interface CollectCliOptions {
  controller?: string;
  mix?: string;
  episodes: string;
  noise: string;
  seed: string;
  out: string;
  chunk: string;
  id?: string;
}

export function register(program: Command): void {
  program
    .command('collect')
    .description('record episodes into an offline dataset (Minari HDF5 layout + dataset card); resumes when interrupted')
    .argument('[scene]', 'scene name under scenes/ or a path to a scene file', DEFAULT_SCENE)
    .option('-c, --controller <name|dir>', 'scripted controller name, or a policy artifact directory')
    .option('--mix <spec>', 'mixed sources, e.g. "tour:0.2,greedy+noise:0.3,random:0.5"')
    .option('-n, --episodes <n>', 'number of episodes', '100')
    .option('--noise <sigma>', 'σ of Gaussian noise on the normalised action (and for "+noise" in --mix)', '0')
    .option('-s, --seed <s>', 'seed of the first episode; episode i uses seed + i', '0')
    .option('-o, --out <dir>', 'dataset directory, or a Minari root (~/.minari/datasets) to write <root>/<dataset id>/', '')
    .option('--chunk <n>', 'episodes per resumable chunk', '25')
    .option('--id <datasetId>', 'Minari dataset id (default <scene>/<out name>-v0; embody/<scene>-<sources>-v0 in a Minari root)')
    .action(async (scene: string, opts: CollectCliOptions) => {
      const { collectDataset } = await import('../../experiment/collect-dataset.js');
      const t0 = performance.now();
      const { card, resumedChunks, out } = await collectDataset({
        scene,
        controller: opts.controller,
        mix: opts.mix,
        episodes: Number(opts.episodes),
        noise: Number(opts.noise),
        seed: Number(opts.seed),
        out: opts.out,
        chunk: Number(opts.chunk),
        id: opts.id,
        onEpisode: (_ep, done, total) => {
          if (process.stderr.isTTY) process.stderr.write(`\r${done}/${total} episodes`);
        },
      });
      if (process.stderr.isTTY) process.stderr.write('\n');
      const s = (performance.now() - t0) / 1000;
      if (resumedChunks) console.log(`resumed: ${resumedChunks} chunk(s) already on disk`);
      console.log(`${card.datasetId}: ${card.episodes} episodes, ${card.steps} steps in ${s.toFixed(1)} s → ${out}`);
      const { formatNumber: f } = await import('../../core/format.js');
      // The dataset card keeps the sample std (n − 1), as its statistics are about the population the episodes came from.
      console.log(`return ${f(card.return.mean)} ± ${f(card.return.std)} sample std (min ${f(card.return.min)}, max ${f(card.return.max)})`);
      for (const src of card.sources) console.log(`  ${src.label.padEnd(20)} ${String(src.episodes).padStart(5)} episodes  return ${f(src.return.mean)} ± ${f(src.return.std)} sample std`);
    });
}
