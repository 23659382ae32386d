import type { Command } from 'commander';

/**
 * `embody sweep <spec.json> [--workers N] [--queue redis://…] [--store <dir>]`, or
 * `embody sweep --resume sweeps/<id>`: run a sweep's trials (src/jobs) on the local pool or on
 * BullMQ, writing sweeps/<time>-<name>/ (sweep.json, one run directory per trial).
 */
interface SweepCliOptions {
  workers?: string;
  queue?: string;
  store?: string;
  insecure?: boolean;
  resume?: string;
  out: string;
  quiet?: boolean;
}

export function register(program: Command): void {
  program
    .command('sweep')
    .description('run a sweep (grid/random search over config keys, seeds and scenes) on local worker processes, or on BullMQ + Redis with --queue')
    .argument('[spec]', 'sweep spec JSON file (not with --resume)')
    .option('-w, --workers <n>', 'local worker processes (default: one per core)')
    .option('--queue <url>', 'put the trials on BullMQ at this Redis (redis://127.0.0.1:6379, redis://:password@host:6379, rediss://host:6380); run `embody worker` to take them')
    .option('--store <dir>', 'with --queue: a directory the workers share; the sweep goes there and no files travel through Redis')
    .option('--insecure', 'allow a non-loopback Redis without password or TLS')
    .option('--resume <sweepDir>', 'continue sweeps/<id>: keep finished trials, run (or resume) the others')
    .option('-o, --out <dir>', 'where sweep directories go', 'sweeps')
    .option('-q, --quiet', 'no progress output')
    .action(async (specFile: string | undefined, opts: SweepCliOptions) => {
      const { runSweep } = await import('../../jobs/sweep.js');
      if (!specFile && !opts.resume) throw new Error('give a sweep spec file, or --resume sweeps/<id>');
      if (specFile && opts.resume) throw new Error('give a spec file or --resume, not both');
      if (opts.store && !opts.queue) throw new Error('--store goes with --queue (the local pool writes into the sweep directory already)');
      const workers = opts.workers === undefined ? undefined : Number(opts.workers);
      if (workers !== undefined && (!Number.isInteger(workers) || workers < 1)) throw new Error(`--workers expects a positive integer, got "${opts.workers}"`);
      const rec = await runSweep({
        specFile,
        resume: opts.resume,
        out: opts.store ?? opts.out,
        shared: !!opts.store,
        workers,
        queue: opts.queue,
        insecure: opts.insecure,
        quiet: opts.quiet,
      });
      const c = rec.counts();
      const best = rec.state.best;
      console.log(`sweep ${rec.id}: ${c.done} done, ${c.failed} failed of ${rec.state.trials.length}${best ? `; best ${best.trialId} (${best.label}) ${best.score.toFixed(2)}` : ''}`);
      console.log(`sweep directory: ${rec.dir}`);
      if (c.failed) process.exitCode = 1;
    });
}
