import type { Command } from 'commander';

/**
 * `embody train <scene> --controller sac|stac|ppo|dqn`: train a learner, evaluate it every
 * `evalEvery` steps, checkpoint, and write runs/<id>/policy/. `--resume runs/<id>` continues bit-exactly.
 */
interface TrainCliOptions {
  controller: string;
  steps?: string;
  seed: string;
  config?: string;
  resume?: string;
  backend?: string;
  out: string;
  quiet?: boolean;
  critic?: string;
  maxMinutes?: string;
  view?: string | boolean;
  record?: boolean;
}

export function register(program: Command): void {
  program
    .command('train')
    .description('train a learner on a scene; writes runs/<id>/ (config, metrics.jsonl, checkpoints, policy/)')
    .argument('[scene]', 'scene name under scenes/ or a path (ignored with --resume)', 'pendulum')
    .option('-c, --controller <kind>', 'learner: sac, stac, ppo, dqn', 'sac')
    .option('--critic <kind>', 'SAC critic: twin (SAC) or distributional (STAC, same as --controller stac)')
    .option('--steps <n>', 'env steps in total (default: from configs/<scene>.<kind>.json)')
    .option('-s, --seed <s>', 'seed of the run', '0')
    .option('--config <file>', 'JSON file merged over the per-task defaults')
    .option('--resume <runDir>', 'continue runs/<id> from its last checkpoint (bit-exact)')
    .option('--backend <name>', 'tfjs backend: tensorflow-gpu, webgpu, tensorflow, wasm, cpu (default: first that loads; webgpu is forced even on a software adapter)')
    .option('-o, --out <dir>', 'where run directories go', 'runs')
    .option('--max-minutes <m>', 'stop after the first evaluation past this wall time (a bounded run)')
    .option('-q, --quiet', 'no progress output')
    .option('--view [port]', 'stream evaluation episodes to the browser viewer (default port 8080)')
    .option('--record', 'record the first episode of each evaluation to <run>/episodes/eval-<step>/0000.mcap')
    .action(async (scene: string, opts: TrainCliOptions) => {
      const { train } = await import('../../experiment/train.js');
      const int = (v: string, name: string) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 0) throw new Error(`${name} expects a non-negative integer, got "${v}"`);
        return n;
      };
      if (opts.critic && !['twin', 'distributional'].includes(opts.critic)) throw new Error(`--critic expects twin or distributional, got "${opts.critic}"`);
      if (opts.critic && !['sac', 'stac'].includes(opts.controller)) throw new Error('--critic applies to --controller sac');
      const controller = opts.critic === 'distributional' ? 'stac' : opts.critic === 'twin' ? 'sac' : opts.controller;
      const result = await train({
        scene,
        controller,
        steps: opts.steps ? int(opts.steps, '--steps') : undefined,
        seed: int(opts.seed, '--seed'),
        configFile: opts.config,
        resume: opts.resume,
        backend: opts.backend,
        out: opts.out,
        quiet: opts.quiet,
        maxWallSeconds: opts.maxMinutes ? Number(opts.maxMinutes) * 60 : undefined,
        view: opts.view === undefined || opts.view === false ? undefined : opts.view === true ? 8080 : int(String(opts.view), '--view'),
        record: opts.record,
      });
      const ev = result.finalEval;
      console.log(
        `${result.scene} · ${result.controller} · ${result.envSteps} steps · ${result.wallSeconds.toFixed(0)} s · backend ${result.backend}` +
          (ev ? ` · final eval return ${ev.return.mean.toFixed(2)} ± ${ev.return.std.toFixed(2)}` : ''),
      );
      if (result.timedOut) console.log(`stopped by --max-minutes at ${result.envSteps} steps; continue with --resume ${result.runDir}`);
      console.log(`run directory: ${result.runDir}`);
    });
}
