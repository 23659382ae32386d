import path from 'node:path';
import { formatDuration, formatMeanStd, formatNumber } from '../core/format.js';
import { createLocalPool } from '../jobs/pool.js';
import { parseSweepSpec } from '../jobs/spec.js';
import { runSweep } from '../jobs/sweep.js';
import type { SweepRecord } from '../jobs/sweep-file.js';

/**
 * `embody train --seeds 0,1,2 [--workers n]`: the same training once per seed, one child process
 * per seed and at most n at a time, through the sweep engine (src/jobs, as `npm run
 * check:learning` does): a sweep directory `<out>/<time>-train-<scene>-<controller>/` with one
 * trial per seed, each holding the run directory `embody train --out <trial> -s <seed>` writes.
 * Ctrl-C (SIGINT) or SIGTERM ends every seed's process before this one exits.
 */
export interface TrainSeedsOptions {
  scene: string;
  controller: string;
  seeds: number[];
  workers: number;
  steps?: number;
  /** --config and --set, merged as for one seed. */
  config: Record<string, unknown>;
  select?: { metric: string };
  backend?: string;
  record?: boolean;
  maxMinutes?: number;
  out: string;
  quiet?: boolean;
  argv: string[];
}

interface SeedSummary {
  finalEval?: { return: { mean: number; std: number } } | null;
  envSteps?: number;
  wallSeconds?: number;
  timedOut?: boolean;
}

export async function trainSeeds(o: TrainSeedsOptions): Promise<void> {
  const name = `train-${path.basename(o.scene).replace(/\.json$/, '')}-${o.controller}`.replace(/[^A-Za-z0-9._-]+/g, '_');
  const spec = parseSweepSpec(
    {
      name,
      command: 'train',
      scene: o.scene,
      controller: o.controller,
      steps: o.steps,
      seeds: o.seeds,
      config: o.config,
      maxMinutes: o.maxMinutes,
      // Only the options given: the spec's values are JSON (no undefined).
      options: Object.fromEntries(Object.entries({ backend: o.backend, select: o.select, record: o.record, argv: o.argv }).filter(([, v]) => v !== undefined)),
    },
    '--seeds',
  );
  const abort = new AbortController();
  const stop = (signal: NodeJS.Signals) => {
    process.stderr.write(`embody: ${signal}: ending every seed's process\n`);
    abort.abort();
  };
  // once: a second Ctrl-C kills this process at once (the children then exit with their IPC channel).
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let rec: SweepRecord;
  try {
    rec = await runSweep({ spec, out: o.out, pool: createLocalPool(o.workers), quiet: o.quiet, signal: abort.signal });
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  if (abort.signal.aborted) {
    process.exitCode = 130;
    throw new Error(`stopped: every seed's process has ended; finished seeds and logs are in ${rec.dir}`);
  }
  const finals: number[] = [];
  for (const t of rec.state.trials) {
    const s = (t.summary ?? {}) as SeedSummary;
    const runDir = t.runDir ? path.relative(process.cwd(), path.join(rec.dir, t.runDir)) : path.relative(process.cwd(), rec.trialDir(t.id));
    if (t.status !== 'done') {
      console.log(`seed ${t.seed}: FAILED: ${t.error ?? t.status} · ${runDir}`);
      continue;
    }
    const ev = s.finalEval?.return;
    if (ev) finals.push(ev.mean);
    console.log(
      `seed ${t.seed}: final eval return ${ev ? formatMeanStd(ev) : '—'} · ${s.envSteps} steps · ${formatDuration(s.wallSeconds ?? NaN)}` +
        `${s.timedOut ? ' · stopped by --max-minutes' : ''} · ${runDir}`,
    );
  }
  if (finals.length) {
    const mean = finals.reduce((a, b) => a + b, 0) / finals.length;
    // Sample std over seeds (n − 1), as npm run check:learning reports it.
    const std = Math.sqrt(finals.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, finals.length - 1));
    console.log(`final eval return over ${finals.length} seed(s): ${formatNumber(mean)} ± ${formatNumber(std)} (mean ± std over seeds)`);
  }
  console.log(`sweep directory: ${path.relative(process.cwd(), rec.dir) || '.'}`);
  const failed = rec.counts().failed;
  if (failed) {
    process.exitCode = 1;
    throw new Error(`${failed} of ${rec.state.trials.length} seed(s) failed; see trial.log in each trial directory of ${rec.dir}`);
  }
}
