import type { Command } from 'commander';
import { collect, parseSetPairs, readConfigArg } from '../options.js';

/**
 * `embody train-offline --dataset <dir> [--controller dt|crdt] [--from <dt dir>] [--lora r]`: train the
 * decision transformer offline from a recorded dataset and write runs/<id>/ with policy/ (the DT
 * artifact). The work is src/experiment/train-offline.ts's; this parses the options.
 */
interface Opts {
  dataset: string;
  controller: string;
  from?: string;
  lora?: string;
  weighting: string;
  updates?: string;
  config?: string;
  set?: string[];
  seed: string;
  eval: string;
  out: string;
}

export function register(program: Command): void {
  program
    .command('train-offline')
    .description('train a decision transformer (dt) or critic-regularised DT (crdt) from a dataset; --from + --lora fine-tunes with LoRA')
    .requiredOption('-d, --dataset <dir>', 'dataset directory (embody collect)')
    .option('-c, --controller <kind>', 'dt or crdt', 'dt')
    .option('--from <dir>', 'start from a trained DT (its policy/ directory)')
    .option('--lora <r>', 'LoRA rank: freeze the base weights, train rank-r adapters on q, k, v, o and the MLP')
    .option('--weighting <w>', 'trajectory sampling: uniform, return (RW) or advantage (AW)', 'uniform')
    .option('--updates <n>', 'gradient updates')
    .option('--config <file>', 'JSON file merged over the DT defaults')
    .option('--set <key=value>', 'override one config key (repeatable), e.g. --set K=10 --set embed=64', collect, [] as string[])
    .option('-s, --seed <s>', 'seed', '0')
    .option('--eval <n>', 'evaluation episodes in the dataset\'s scene afterwards', '5')
    .option('-o, --out <dir>', 'where run directories go', 'runs')
    .action(async (opts: Opts) => {
      // The config first: a bad file or key is reported before any data is read.
      const config: Record<string, unknown> = { ...readConfigArg(opts.config), ...parseSetPairs(opts.set) };
      const { trainOffline } = await import('../../experiment/train-offline.js');
      let progressLine = false;
      await trainOffline({
        dataset: opts.dataset,
        controller: opts.controller,
        from: opts.from,
        lora: opts.lora ? Number(opts.lora) : 0,
        weighting: opts.weighting,
        updates: opts.updates ? Number(opts.updates) : undefined,
        config,
        seed: Number(opts.seed),
        evalEpisodes: Number(opts.eval),
        out: opts.out,
        argv: process.argv.slice(2),
        onUpdate: (u, f) => {
          if (!process.stderr.isTTY) return;
          process.stderr.write(`\rupdate ${u}  loss ${f.loss.toFixed(4)}`);
          progressLine = true;
        },
        log: (line) => {
          if (progressLine) process.stderr.write('\n');
          progressLine = false;
          console.log(line);
        },
      });
    });
}
