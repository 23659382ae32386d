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
      const { collect } = await import('../../experiment/collect.js');
      const { parseMix, sourceLabel } = await import('../../data/mix.js');
      const noise = Number(opts.noise);
      const episodes = Number(opts.episodes);
      const seed = Number(opts.seed);
      if (!Number.isInteger(episodes) || episodes <= 0) throw new Error(`--episodes expects a positive integer, got "${opts.episodes}"`);
      if (!Number.isInteger(seed)) throw new Error(`--seed expects an integer, got "${opts.seed}"`);
      if (opts.mix && opts.controller) throw new Error('give either --controller or --mix, not both');
      const sources = opts.mix
        ? parseMix(opts.mix, noise > 0 ? noise : 0.3)
        : [{ controller: opts.controller ?? 'greedy', noise, fraction: 1, label: sourceLabel(opts.controller ?? 'greedy', noise) }];
      const name = `${scene.replace(/[^A-Za-z0-9_-]+/g, '_')}-${sources.map((s) => s.label).join('_')}`;
      // --out may be a Minari root (~/.minari/datasets): the dataset then goes to <root>/<dataset_id>.
      const { minariDatasetDir } = await import('../../data/minari.js');
      const placed = minariDatasetDir(opts.out || `datasets/${name}`, opts.id ?? `embody/${name.replace(/[^A-Za-z0-9_.-]+/g, '_')}-v0`);
      const out = placed.dir;
      const datasetId = opts.id ?? (placed.inRoot ? `embody/${name.replace(/[^A-Za-z0-9_.-]+/g, '_')}-v0` : undefined);
      const t0 = performance.now();
      const { card, resumedChunks } = await collect({
        scene,
        sources,
        episodes,
        seed,
        out,
        chunkSize: Number(opts.chunk),
        datasetId,
        onEpisode: (ep, done, total) => {
          if (process.stderr.isTTY) process.stderr.write(`\r${done}/${total} episodes`);
          void ep;
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
