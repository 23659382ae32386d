import { fork } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { listFiles, type FileEntry } from './files.js';
import type { FromChild, ToChild } from './trial-process.js';
import type { TrialCheckpoint, TrialJob } from './trial.js';

/**
 * Run one trial in a fresh Node process: the single code path of the local pool and of
 * `embody worker`. A fresh process per trial keeps trials independent (no tfjs or module state
 * carried from one to the next), so the same trial gives the same figures wherever it runs.
 * The child's stdout and stderr go to <trialDir>/trial.log.
 */
// The sibling file with this module's own extension: trial-process.ts in a checkout, trial-process.js in the built package.
const HERE = fileURLToPath(import.meta.url);
const TRIAL_PROCESS = path.join(path.dirname(HERE), `trial-process${path.extname(HERE)}`);
// tsx resolved from here, not from the working directory: `embody` runs from anywhere (a bare `--import tsx` fails outside the package).
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export interface TrialOutcome {
  runDir: string;
  summary: Record<string, unknown>;
  /** Every file of the trial directory except checkpoints/, with sha256. */
  files: FileEntry[];
}

export interface ChildHooks {
  /** Awaited before training continues; `files` lists the whole run directory (checkpoints included). */
  onCheckpoint?: (c: TrialCheckpoint & { files: FileEntry[] }) => Promise<void> | void;
  /** Called with the child's pid once it runs. */
  onStart?: (pid: number) => void;
  /** Aborting it ends the child (SIGTERM): Ctrl-C in `embody train --seeds` stops every seed. */
  signal?: AbortSignal;
}

export function executeTrial(job: TrialJob, trialDir: string, hooks: ChildHooks = {}): Promise<TrialOutcome> {
  mkdirSync(trialDir, { recursive: true });
  const logFd = openSync(path.join(trialDir, 'trial.log'), 'a');
  const child = fork(TRIAL_PROCESS, [], { execArgv: ['--import', TSX], stdio: ['ignore', logFd, logFd, 'ipc'], serialization: 'advanced', signal: hooks.signal });
  closeSync(logFd);
  hooks.onStart?.(child.pid!);
  return new Promise<TrialOutcome>((resolve, reject) => {
    let settled: { runDir: string; summary: Record<string, unknown> } | Error | null = null;
    child.on('message', async (m: FromChild) => {
      if (m.type === 'checkpoint') {
        try {
          const files = listFiles(trialDir, { under: m.checkpoint.runDir });
          await hooks.onCheckpoint?.({ ...m.checkpoint, files });
        } catch (err) {
          // A checkpoint that did not get away costs a restart from an older one, not the trial.
          process.stderr.write(`trial ${job.trialId}: checkpoint at step ${m.checkpoint.step} not shipped: ${(err as Error).message}\n`);
        }
        if (child.connected) child.send({ type: 'ack' } satisfies ToChild);
      } else if (m.type === 'result') settled = { runDir: m.runDir, summary: m.summary };
      else settled = new Error(`trial ${job.trialId}: ${m.message} (log: ${path.join(trialDir, 'trial.log')})`);
    });
    // Aborted (hooks.signal): the exit below settles, once the child has really ended.
    child.on('error', (err) => (hooks.signal?.aborted ? undefined : reject(err)));
    child.on('exit', (code, signal) => {
      if (settled instanceof Error) return reject(settled);
      if (!settled) return reject(new Error(`trial ${job.trialId}: process ended (${signal ?? `exit ${code}`}) without a result (log: ${path.join(trialDir, 'trial.log')})`));
      resolve({ ...settled, files: listFiles(trialDir, { skip: ['checkpoints'] }) });
    });
    child.send({ type: 'run', job, trialDir } satisfies ToChild);
  });
}
