import { rmSync } from 'node:fs';
import { executeTrial } from './child.js';
import { verifyFiles } from './files.js';
import { createLocalPool, type LocalPool } from './pool.js';
import { createSweepProgress } from './progress.js';
import { trialJobOf } from './queue.js';
import { parseRedisUrl } from './redis-url.js';
import { readSweepSpec, type SweepSpec } from './spec.js';
import { SweepRecord } from './sweep-file.js';
import { resumableRun } from './trial.js';

/**
 * The sweep coordinator behind `embody sweep`: expand the spec into trials, run them on the local
 * pool (default) or on a BullMQ queue (`queue`), keep sweep.json current, show progress.
 * `resume` reopens sweeps/<id>: finished trials stay, the rest run again (resuming from their
 * checkpoints), and a queue sweep picks its jobs' state up from Redis.
 */
export interface SweepOptions {
  spec?: SweepSpec;
  specFile?: string;
  /** An existing sweep directory to continue. */
  resume?: string;
  /** Where sweep directories go (default "sweeps"). */
  out?: string;
  /** Local pool size (default: one per core). */
  workers?: number;
  /** A pool shared with other sweeps (the check:* scripts). */
  pool?: LocalPool;
  /** redis://… or rediss://…: run the trials as BullMQ jobs. */
  queue?: string;
  insecure?: boolean;
  /** With a queue: the sweep directory is shared with the workers, so no files go through Redis. */
  shared?: boolean;
  quiet?: boolean;
  /** Local pool: aborting it ends every running trial's process and starts no more (they stay queued, or failed if cut short). */
  signal?: AbortSignal;
}

export async function runSweep(opts: SweepOptions): Promise<SweepRecord> {
  let rec: SweepRecord;
  let queueUrl = opts.queue;
  if (opts.resume) {
    rec = SweepRecord.open(opts.resume);
    queueUrl ??= rec.state.queue ?? undefined;
  } else {
    const spec = opts.spec ?? (opts.specFile ? readSweepSpec(opts.specFile) : undefined);
    if (!spec) throw new Error('runSweep needs a spec, a spec file or a sweep to resume');
    const target = queueUrl ? parseRedisUrl(queueUrl, { insecure: opts.insecure }) : null;
    rec = SweepRecord.create(opts.out ?? 'sweeps', spec, { queue: target?.display ?? null, store: !target ? 'local' : opts.shared ? 'shared' : 'redis' });
  }
  const progress = createSweepProgress(rec, { quiet: opts.quiet });
  progress.update(opts.resume ? 'resumed' : 'started');
  if (queueUrl) {
    const { runOnQueue } = await import('./queue.js');
    await runOnQueue(rec, { target: parseRedisUrl(queueUrl, { insecure: opts.insecure }), shared: rec.state.store === 'shared', onUpdate: (note) => progress.update(note) });
  } else {
    await runLocal(rec, opts.pool ?? createLocalPool(opts.workers), (note) => progress.update(note), opts.signal);
  }
  progress.stop();
  return rec;
}

async function runLocal(rec: SweepRecord, pool: LocalPool, onUpdate: (note?: string) => void, signal?: AbortSignal): Promise<void> {
  const todo = rec.state.trials.filter((t) => t.status !== 'done');
  // A trial left "running" by a coordinator that died is queued again.
  for (const t of todo) rec.update(t.id, { status: 'queued' });
  await Promise.all(
    todo.map((t) =>
      pool.run(async () => {
        if (signal?.aborted) return;
        const dir = rec.trialDir(t.id);
        const resume = resumableRun(dir);
        if (!resume) rmSync(dir, { recursive: true, force: true });
        rec.update(t.id, { status: 'running', attempts: t.attempts + 1, worker: 'local', startedAt: new Date().toISOString(), error: null });
        onUpdate(`${t.id} running${resume ? ` (resuming ${resume})` : ''}`);
        try {
          const outcome = await executeTrial(trialJobOf(rec, t), dir, {
            signal,
            onCheckpoint: (c) => {
              rec.update(t.id, { checkpointStep: c.step });
              onUpdate(`${t.id} checkpoint at step ${c.step}`);
            },
          });
          verifyFiles(dir, outcome.files);
          rec.recordResult(t.id, { ...outcome, worker: 'local' });
          onUpdate(`${t.id} done`);
        } catch (err) {
          rec.update(t.id, { status: 'failed', error: (err as Error).message, finishedAt: new Date().toISOString() });
          onUpdate(`${t.id} failed`);
        }
      }),
    ),
  );
}
