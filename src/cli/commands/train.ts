import type { Command } from 'commander';
import { addViewOptions, collect, DEFAULT_SCENE, intOption, parseSeedList, parseSetPairs, readConfigFile, viewerPort } from '../options.js';

/**
 * `embody train <scene> --controller sac|stac|ppo|dqn`: train a learner, evaluate it every
 * `evalEvery` steps, checkpoint, and write runs/<id>/policy/. `--resume runs/<id>` continues bit-exactly.
 * `--seeds 0,1,2 [--workers n]`: one process per seed, at most n at once (src/cli/train-seeds.ts).
 * Config: configs/<scene>.<kind>.json ← --config <file> ← --set key=value ← --steps.
 */
interface TrainCliOptions {
  controller: string;
  steps?: string;
  seed: string;
  seeds?: string;
  workers?: string;
  config?: string;
  set?: string[];
  select?: string;
  resume?: string;
  backend?: string;
  out: string;
  quiet?: boolean;
  critic?: string;
  maxMinutes?: string;
  view?: string | boolean;
  port?: string;
  record?: boolean;
}

export function register(program: Command): void {
  const cmd = program
    .command('train')
    .description('train a learner on a scene; writes runs/<id>/ (config, metrics.jsonl, checkpoints, policy/, policy-best/)')
    .argument('[scene]', 'scene name under scenes/ or a path (ignored with --resume)', DEFAULT_SCENE)
    .option('-c, --controller <kind>', 'learner: sac, stac, ppo, dqn', 'sac')
    .option('--critic <kind>', 'SAC critic: twin (SAC) or distributional (STAC, same as --controller stac)')
    .option('--steps <n>', 'env steps in total (default: from configs/<scene>.<kind>.json); PPO rounds up to whole rollouts')
    .option('-s, --seed <s>', 'seed of the run', '0')
    .option('--seeds <list>', 'train once per seed, one process each: 0,1,2 or a range 0-4; each run is the one -s <seed> makes, in <out>/<time>-train-<scene>-<kind>/c0-s<seed>/; prints the mean ± std over seeds')
    .option('-w, --workers <n>', 'with --seeds: at most this many seeds at once (default: one per core)')
    .option('--config <file>', 'JSON file merged over the per-task defaults')
    .option('--set <key=value>', 'override one config key (repeatable), e.g. --set learningRate=3e-4 --set hidden=[64,64]', collect, [] as string[])
    .option('--select <metric>', "evaluation figure that picks policy-best/ (default: the task's rule; UAV: efficiencyBitPerJ with everything collected)")
    .option('--resume <run>', 'continue runs/<id> (or runs/latest, or an id prefix) from its last checkpoint (bit-exact)')
    .option('--backend <name>', 'tfjs backend: tensorflow-gpu, webgpu, tensorflow, wasm, cpu (default: first that loads; webgpu is forced even on a software adapter)')
    .option('-o, --out <dir>', 'where run directories go', 'runs')
    .option('--max-minutes <m>', 'stop after the first evaluation past this wall time (a bounded run)')
    .option('-q, --quiet', 'no progress output');
  addViewOptions(cmd, 'stream evaluation episodes')
    .option('--record', 'record the first episode of each evaluation to <run>/episodes/eval-<step>/0000.mcap')
    .action(async (scene: string, opts: TrainCliOptions, command: Command) => {
      if (opts.seeds !== undefined) return trainSeedsAction(scene, opts, command);
      if (opts.workers !== undefined) throw new Error('--workers goes with --seeds');
      const { train } = await import('../../experiment/train.js');
      const { resolveRunDir } = await import('../../experiment/run-index.js');
      const { formatDuration, formatMeanStd } = await import('../../core/format.js');
      const controller = controllerOf(opts);
      const maxMinutes = maxMinutesOf(opts);
      const result = await train({
        scene,
        controller,
        steps: opts.steps ? intOption(opts.steps, '--steps', { min: 1 }) : undefined,
        seed: intOption(opts.seed, '--seed', { min: 0 }),
        overrides: { ...(opts.config ? readConfigFile(opts.config) : {}), ...parseSetPairs(opts.set) },
        select: opts.select ? { metric: opts.select } : undefined,
        resume: opts.resume ? resolveRunDir(opts.resume) : undefined,
        backend: opts.backend,
        out: opts.out,
        quiet: opts.quiet,
        maxWallSeconds: maxMinutes === undefined ? undefined : maxMinutes * 60,
        view: viewerPort(opts),
        record: opts.record,
        argv: process.argv.slice(2),
      });
      const ev = result.finalEval;
      console.log(
        `${result.scene} · ${result.controller} · ${result.envSteps} steps · ${formatDuration(result.wallSeconds)} · backend ${result.backend}` +
          (ev ? ` · final eval return ${formatMeanStd(ev.return)}` : ''),
      );
      console.log(`policy-best/ by ${result.selection.rule}: from step ${result.selection.step ?? '—'}`);
      if (result.timedOut) console.log(`stopped by --max-minutes at ${result.envSteps}/${result.steps} steps; continue with --resume ${result.runDir}`);
      console.log(`run directory: ${result.runDir}`);
    });
}

/** --controller with --critic folded in (twin → sac, distributional → stac). */
function controllerOf(opts: TrainCliOptions): string {
  if (opts.critic && !['twin', 'distributional'].includes(opts.critic)) throw new Error(`--critic expects twin or distributional, got "${opts.critic}"`);
  if (opts.critic && !['sac', 'stac'].includes(opts.controller)) throw new Error('--critic applies to --controller sac');
  return opts.critic === 'distributional' ? 'stac' : opts.critic === 'twin' ? 'sac' : opts.controller;
}

function maxMinutesOf(opts: TrainCliOptions): number | undefined {
  const maxMinutes = opts.maxMinutes === undefined ? undefined : Number(opts.maxMinutes);
  if (maxMinutes !== undefined && !(maxMinutes > 0)) throw new Error(`--max-minutes expects a positive number, got "${opts.maxMinutes}"`);
  return maxMinutes;
}

/** `--seeds`: every seed as its own `embody train -s <seed>` run, in parallel child processes. */
async function trainSeedsAction(scene: string, opts: TrainCliOptions, command: Command): Promise<void> {
  if (opts.resume) throw new Error('--seeds starts new runs and cannot --resume one; resume each seed\'s run with --resume <run dir>, one at a time');
  if (command.getOptionValueSource('seed') === 'cli') throw new Error('give --seed or --seeds, not both');
  if (opts.view !== undefined) throw new Error('--view streams one run; it does not go with --seeds (view one seed with -s <seed> --view)');
  const { availableParallelism } = await import('node:os');
  const { trainSeeds } = await import('../train-seeds.js');
  await trainSeeds({
    scene,
    controller: controllerOf(opts),
    seeds: parseSeedList(opts.seeds!),
    workers: opts.workers === undefined ? availableParallelism() : intOption(opts.workers, '--workers', { min: 1 }),
    steps: opts.steps ? intOption(opts.steps, '--steps', { min: 1 }) : undefined,
    config: { ...(opts.config ? readConfigFile(opts.config) : {}), ...parseSetPairs(opts.set) },
    select: opts.select ? { metric: opts.select } : undefined,
    backend: opts.backend,
    record: opts.record,
    maxMinutes: maxMinutesOf(opts),
    out: opts.out,
    quiet: opts.quiet,
    argv: process.argv.slice(2),
  });
}
