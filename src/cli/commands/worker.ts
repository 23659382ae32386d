import type { Command } from 'commander';

/**
 * `embody worker --queue redis://host:6379 [--concurrency N]`: take sweep trials off BullMQ and
 * run each in its own process until stopped (SIGINT/SIGTERM let running trials finish first).
 */
interface WorkerCliOptions {
  queue: string;
  concurrency: string;
  workDir?: string;
  name?: string;
  lockMs: string;
  insecure?: boolean;
}

export function register(program: Command): void {
  program
    .command('worker')
    .description('take sweep trials from BullMQ + Redis and run them (results go back through Redis)')
    .requiredOption('--queue <url>', 'Redis URL: redis://127.0.0.1:6379, redis://:password@host:6379 or rediss://host:6380')
    .option('--concurrency <n>', 'trials at once (each in its own process)', '1')
    .option('--work-dir <dir>', 'scratch directory for trials (default: <tmp>/embody-worker-<name>)')
    .option('--name <name>', 'worker name in sweep.json and logs (default: <host>-<pid>)')
    .option('--lock-ms <ms>', 'job lock: a dead worker\'s trial is taken again about this long after it died', '30000')
    .option('--insecure', 'allow a non-loopback Redis without password or TLS')
    .action(async (opts: WorkerCliOptions) => {
      const os = await import('node:os');
      const path = await import('node:path');
      const { parseRedisUrl } = await import('../../jobs/redis-url.js');
      const { startWorker } = await import('../../jobs/queue.js');
      const concurrency = Number(opts.concurrency);
      const lockMs = Number(opts.lockMs);
      if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`--concurrency expects a positive integer, got "${opts.concurrency}"`);
      if (!Number.isInteger(lockMs) || lockMs < 1000) throw new Error(`--lock-ms expects an integer ≥ 1000, got "${opts.lockMs}"`);
      const target = parseRedisUrl(opts.queue, { insecure: opts.insecure });
      const name = opts.name ?? `${os.hostname()}-${process.pid}`;
      const workDir = path.resolve(opts.workDir ?? path.join(os.tmpdir(), `embody-worker-${name}`));
      const worker = await startWorker({ target, concurrency, workDir, name, lockMs, log: (l) => console.log(l) });
      console.log(`${name}: taking trials from ${target.display} (concurrency ${concurrency}, scratch ${workDir})`);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      console.log(`${name}: stopping (running trials finish first)`);
      await worker.close();
    });
}
