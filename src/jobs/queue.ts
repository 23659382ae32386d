import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Job } from 'bullmq';
import { getFiles, putFiles } from './blobs.js';
import { executeTrial, type TrialOutcome } from './child.js';
import { FileEntry, verifyFiles } from './files.js';
import { connectRedis, type RedisTarget } from './redis-url.js';
import type { SweepRecord, TrialRecord } from './sweep-file.js';
import { resumableRun, TrialJob, type TrialCheckpoint } from './trial.js';

/**
 * Trials as BullMQ jobs on Redis. BullMQ does the hard parts (at-least-once delivery, retries,
 * recovery of a dead worker's job once its lock expires, per-worker concurrency, progress, return
 * values); this file only maps trials onto it:
 * - one job per trial, jobId `<sweep>.<trial>`, so enqueueing again (a restarted coordinator) adds nothing;
 * - the worker runs the trial with the same child-process code path as the local pool;
 * - files travel through Redis (blobs.ts) unless the sweep sits in a shared `--store` directory;
 * - each checkpoint goes out as job progress; once the coordinator has it, it writes the
 *   checkpoint's manifest to `embody:sweep:<sweep>:checkpoint:<trial>`, and a re-run job resumes
 *   from that one (so "resume from the last checkpoint that reached the coordinator").
 */
export const QUEUE_NAME = 'embody-trials';
export const jobIdOf = (sweepId: string, trialId: string) => `${sweepId}.${trialId}`;
const checkpointKey = (sweepId: string, trialId: string) => `embody:sweep:${sweepId}:checkpoint:${trialId}`;
const CHECKPOINT_TTL_SECONDS = 7 * 24 * 3600;

/** What a worker reports as job progress. */
interface TrialProgress {
  worker: string;
  attempt: number;
  resumedFrom: number | null;
  checkpoint?: TrialCheckpoint & { files: FileEntry[] };
}

type JobResult = TrialOutcome & { worker: string };

// ---------------------------------------------------------------- worker side

export interface WorkerOptions {
  target: RedisTarget;
  concurrency: number;
  /** Scratch space for trials when files travel through Redis. */
  workDir: string;
  name: string;
  /** BullMQ lockDuration: a dead worker's job is taken again about this long after it died. */
  lockMs?: number;
  log?: (line: string) => void;
}

export async function startWorker(opts: WorkerOptions): Promise<{ close(): Promise<void> }> {
  const { Worker } = await import('bullmq');
  const redis = await connectRedis(opts.target);
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const lockDuration = opts.lockMs ?? 30_000;
  const worker = new Worker(
    QUEUE_NAME,
    async (job: Job) => {
      const data = TrialJob.parse(job.data);
      const shipFiles = !data.storeDir;
      const trialDir = data.storeDir ? path.join(data.storeDir, data.trialId) : path.join(opts.workDir, data.sweepId, data.trialId);
      let resumedFrom: number | null = null;
      if (shipFiles) {
        rmSync(trialDir, { recursive: true, force: true });
        const held = await redis.get(checkpointKey(data.sweepId, data.trialId));
        if (held) {
          const ck = JSON.parse(held) as TrialCheckpoint & { files: FileEntry[] };
          await getFiles(redis, trialDir, ck.files);
          resumedFrom = ck.step;
        }
      } else if (!resumableRun(trialDir)) rmSync(trialDir, { recursive: true, force: true });
      else resumedFrom = -1; // the shared directory's own newest checkpoint
      const progress: TrialProgress = { worker: opts.name, attempt: job.attemptsStarted, resumedFrom };
      await job.updateProgress({ ...progress });
      log(`${opts.name}: start ${job.id} (attempt ${job.attemptsStarted}${resumedFrom !== null ? `, resuming from ${resumedFrom >= 0 ? `step ${resumedFrom}` : 'its checkpoint'}` : ''})`);
      const outcome = await executeTrial(data, trialDir, {
        onCheckpoint: async (c) => {
          if (shipFiles) await putFiles(redis, trialDir, c.files);
          await job.updateProgress({ ...progress, checkpoint: c });
          log(`${opts.name}: checkpoint ${job.id} step ${c.step}`);
        },
      });
      if (shipFiles) await putFiles(redis, trialDir, outcome.files);
      log(`${opts.name}: done ${job.id}`);
      return { ...outcome, worker: opts.name } satisfies JobResult;
    },
    { connection: redis, concurrency: opts.concurrency, lockDuration, stalledInterval: Math.max(500, Math.round(lockDuration / 2)), maxStalledCount: 3, name: opts.name },
  );
  worker.on('failed', (job, err) => log(`${opts.name}: failed ${job?.id}: ${err.message}`));
  await worker.waitUntilReady();
  return {
    async close() {
      await worker.close();
      redis.disconnect();
    },
  };
}

// ---------------------------------------------------------------- coordinator side

export function trialJobOf(rec: SweepRecord, t: TrialRecord, storeDir?: string): TrialJob {
  const s = rec.spec;
  return TrialJob.parse({
    sweepId: rec.id,
    trialId: t.id,
    command: s.command,
    scene: t.scene ?? undefined,
    controller: s.controller,
    seed: t.seed,
    steps: s.steps,
    config: t.config,
    options: s.options,
    maxMinutes: s.maxMinutes,
    module: s.module,
    export: s.export,
    storeDir,
  });
}

export interface QueueRunOptions {
  target: RedisTarget;
  /** The sweep directory is shared with the workers (--store): no files through Redis. */
  shared: boolean;
  onUpdate: (note?: string) => void;
  pollMs?: number;
}

export async function runOnQueue(rec: SweepRecord, opts: QueueRunOptions): Promise<void> {
  const { Queue, QueueEvents } = await import('bullmq');
  const redis = await connectRedis(opts.target);
  const queue = new Queue(QUEUE_NAME, { connection: redis });
  const eventsRedis = await connectRedis(opts.target);
  const events = new QueueEvents(QUEUE_NAME, { connection: eventsRedis });
  await events.waitUntilReady();
  const open = () => rec.state.trials.filter((t) => t.status !== 'done');
  const storeDir = opts.shared ? rec.dir : undefined;
  await queue.addBulk(
    open().map((t) => ({
      name: t.id,
      data: trialJobOf(rec, t, storeDir),
      opts: { jobId: jobIdOf(rec.id, t.id), attempts: 2, backoff: { type: 'fixed', delay: 1000 }, removeOnComplete: false, removeOnFail: false },
    })),
  );
  // A restarted coordinator gives failed trials another go.
  for (const t of open()) {
    const job = await queue.getJob(jobIdOf(rec.id, t.id));
    if (job && (await job.getState()) === 'failed') await job.retry('failed');
  }

  // One reconciliation at a time per trial: events and the poll may ask for the same one.
  const chains = new Map<string, Promise<void>>();
  const reconcile = (trialId: string) => {
    const next = (chains.get(trialId) ?? Promise.resolve()).then(() => reconcileTrial(trialId)).catch((err) => opts.onUpdate(`${trialId}: ${(err as Error).message}`));
    chains.set(trialId, next);
    return next;
  };
  const trialOfJob = (jobId: string) => (jobId.startsWith(rec.id + '.') ? jobId.slice(rec.id.length + 1) : null);

  const reconcileTrial = async (trialId: string) => {
    const t = rec.trial(trialId);
    if (t.status === 'done') return;
    const job = await queue.getJob(jobIdOf(rec.id, trialId));
    if (!job) return;
    const state = await job.getState();
    const p = (typeof job.progress === 'object' ? job.progress : null) as TrialProgress | null;
    if (p?.checkpoint && p.checkpoint.step > (t.checkpointStep ?? -1) && state === 'active') await receiveCheckpoint(t, p.checkpoint);
    if (state === 'completed') {
      const result = job.returnvalue as JobResult;
      const dir = rec.trialDir(trialId);
      if (opts.shared) verifyFiles(dir, result.files);
      else {
        await getFiles(redis, dir, result.files);
        // Leftovers of an attempt that started over (another run directory) go.
        const keep = new Set(result.files.map((f) => f.path.split('/')[0]));
        for (const e of existsSync(dir) ? readdirSync(dir) : []) if (!keep.has(e)) rmSync(path.join(dir, e), { recursive: true, force: true });
      }
      if (rec.recordResult(trialId, result)) opts.onUpdate(`${trialId} done on ${result.worker}`);
    } else if (state === 'failed') {
      rec.update(trialId, { status: 'failed', error: job.failedReason ?? 'failed', attempts: job.attemptsStarted });
      opts.onUpdate(`${trialId} failed: ${job.failedReason}`);
    } else if (state === 'active') {
      if (t.status !== 'running' || t.attempts !== job.attemptsStarted || t.worker !== (p?.worker ?? null)) {
        rec.update(trialId, { status: 'running', attempts: job.attemptsStarted, worker: p?.worker ?? null, startedAt: t.startedAt ?? new Date().toISOString() });
        opts.onUpdate(`${trialId} running${p?.worker ? ` on ${p.worker}` : ''}`);
      }
    } else if (t.status !== 'queued') {
      rec.update(trialId, { status: 'queued' });
      opts.onUpdate(`${trialId} back in the queue`);
    }
  };

  const receiveCheckpoint = async (t: TrialRecord, ck: TrialCheckpoint & { files: FileEntry[] }) => {
    const dir = rec.trialDir(t.id);
    if (opts.shared) verifyFiles(dir, ck.files);
    else await getFiles(redis, dir, ck.files);
    await redis.set(checkpointKey(rec.id, t.id), JSON.stringify(ck), 'EX', CHECKPOINT_TTL_SECONDS);
    rec.update(t.id, { checkpointStep: ck.step });
    opts.onUpdate(`${t.id} checkpoint at step ${ck.step}`);
  };

  const onJob = ({ jobId }: { jobId: string }) => {
    const id = trialOfJob(jobId);
    if (id) void reconcile(id);
  };
  events.on('active', onJob);
  events.on('progress', onJob);
  events.on('completed', onJob);
  events.on('failed', onJob);
  events.on('waiting', onJob);
  try {
    // Events make it quick; the poll makes it certain (an event missed while restarting is not lost).
    while (open().some((t) => t.status !== 'failed')) {
      await Promise.all(open().map((t) => reconcile(t.id)));
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 1000));
    }
    await Promise.all(chains.values());
  } finally {
    await events.close();
    await queue.close();
    // BullMQ leaves connections it was given open.
    eventsRedis.disconnect();
    redis.disconnect();
  }
}
