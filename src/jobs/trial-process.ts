/**
 * The child-process entry of one trial (forked by child.ts): receive the job over IPC, run it,
 * send checkpoints (waiting for each to be acknowledged) and the result back, then exit. If the
 * parent dies (a SIGKILLed worker), the IPC channel closes and this process exits with it, so a
 * re-run trial never races an orphan writing the same directory.
 */
import { describeError } from '../core/errors.js';
import { runTrial, TrialJob, type TrialCheckpoint } from './trial.js';

export type ToChild = { type: 'run'; job: TrialJob; trialDir: string } | { type: 'ack' };
export type FromChild =
  | { type: 'checkpoint'; checkpoint: TrialCheckpoint }
  | { type: 'result'; runDir: string; summary: Record<string, unknown> }
  | { type: 'error'; message: string };

const send = (m: FromChild) => new Promise<void>((resolve, reject) => process.send!(m, (err: Error | null) => (err ? reject(err) : resolve())));

process.on('disconnect', () => process.exit(3));
let ackWaiter: (() => void) | null = null;

process.on('message', async (m: ToChild) => {
  if (m.type === 'ack') {
    ackWaiter?.();
    ackWaiter = null;
    return;
  }
  try {
    const job = TrialJob.parse(m.job);
    const result = await runTrial(job, m.trialDir, {
      onCheckpoint: async (checkpoint) => {
        const acked = new Promise<void>((resolve) => (ackWaiter = resolve));
        await send({ type: 'checkpoint', checkpoint });
        await acked;
      },
    });
    await send({ type: 'result', runDir: result.runDir, summary: result.summary });
    process.exit(0);
  } catch (err) {
    await send({ type: 'error', message: describeError(err) }).catch(() => {});
    process.exit(1);
  }
});
