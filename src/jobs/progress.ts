import type { SweepRecord } from './sweep-file.js';

/**
 * The sweep's live progress: on a TTY a table redrawn in place (one row per trial); elsewhere
 * (CI logs, files) one line per update: done, running, failed, and the best trial so far.
 */
export interface SweepProgress {
  update(note?: string): void;
  stop(): void;
}

export function createSweepProgress(rec: SweepRecord, opts: { stream?: NodeJS.WriteStream; quiet?: boolean } = {}): SweepProgress {
  const out = opts.stream ?? process.stderr;
  if (opts.quiet) return { update() {}, stop() {} };
  const headline = () => {
    const c = rec.counts();
    const best = rec.state.best;
    return `sweep ${rec.id}: ${c.done}/${rec.state.trials.length} done · ${c.running} running · ${c.failed} failed · ${c.queued} queued · best ${best ? `${best.trialId} (${best.label}) ${best.score.toFixed(2)}` : '—'}`;
  };
  if (!out.isTTY) {
    let last = '';
    return {
      update(note) {
        const line = note ? `${headline()} · ${note}` : headline();
        if (line !== last) out.write(line + '\n');
        last = line;
      },
      stop() {},
    };
  }
  let drawn = 0;
  const draw = () => {
    const rows = rec.state.trials.map((t) => {
      const where = t.worker ? ` on ${t.worker}` : '';
      const ck = t.status === 'running' && t.checkpointStep !== null ? ` step ${t.checkpointStep}` : '';
      return `  ${t.id.padEnd(14)} ${t.status.padEnd(8)} ${(t.score === null ? '' : t.score.toFixed(2)).padStart(9)}  ${t.label}${where}${ck}${t.error ? `  ${t.error.slice(0, 60)}` : ''}`;
    });
    const lines = [headline(), ...rows];
    out.write((drawn ? `\x1b[${drawn}A\x1b[0J` : '') + lines.join('\n') + '\n');
    drawn = lines.length;
  };
  return { update: () => draw(), stop: () => draw() };
}
