import cliProgress from 'cli-progress';
import { formatDuration } from '../core/format.js';

/**
 * A progress bar on a TTY, nothing otherwise (CI logs stay clean).
 *
 * The bar shows the fraction of the budget spent: steps done over steps asked, or, with a
 * wall-time limit, the time used over the limit when that fraction is larger (the limit
 * binds first). The ETA follows the same fraction, and durations never read `12m60s`.
 */
export interface Progress {
  tick(n?: number, payload?: Record<string, string | number>): void;
  stop(): void;
}

export interface ProgressOptions {
  /** Extra text after the figures, with {name} filled from the payload, e.g. ' | return {ret}'. */
  fields?: string;
  /** First payload values, so the bar never shows a raw `{ret}`. */
  initial?: Record<string, string | number>;
  /** A wall-time limit in seconds: the bar counts towards it when it binds first. */
  maxSeconds?: number;
  /** Where to draw (default: stderr when it is a TTY). */
  stream?: NodeJS.WriteStream;
}

export function createProgress(total: number, label: string, options: ProgressOptions | string = {}): Progress {
  const opts: ProgressOptions = typeof options === 'string' ? { fields: options } : options;
  const stream = opts.stream ?? process.stderr;
  if (!stream.isTTY) return { tick() {}, stop() {} };
  const t0 = performance.now();
  let payload: Record<string, string | number> = { ...opts.initial };
  const bar = new cliProgress.SingleBar(
    {
      stream,
      hideCursor: true,
      format: (o, params) => renderLine(label, o.barsize ?? 40, params.value, params.total, (performance.now() - t0) / 1000, opts, payload),
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return {
    tick: (n = 1, p) => {
      if (p) payload = { ...payload, ...p };
      bar.increment(n, p);
    },
    stop: () => bar.stop(),
  };
}

/** One line of the bar; exported for tests (a TTY is not needed to check the text). */
export function renderLine(label: string, width: number, value: number, total: number, elapsed: number, opts: ProgressOptions, payload: Record<string, string | number>): string {
  const stepFraction = total > 0 ? Math.min(1, value / total) : 1;
  const timeFraction = opts.maxSeconds ? Math.min(1, elapsed / opts.maxSeconds) : 0;
  const byTime = timeFraction > stepFraction;
  const fraction = Math.max(stepFraction, timeFraction);
  const filled = Math.round(fraction * width);
  const bar = '\u2588'.repeat(filled) + '\u2591'.repeat(width - filled);
  const eta = fraction > 0 ? (elapsed * (1 - fraction)) / fraction : NaN;
  const limit = byTime ? ` of ${formatDuration(opts.maxSeconds!)} limit` : '';
  const fields = (opts.fields ?? '').replace(/\{(\w+)\}/g, (_, k: string) => String(payload[k] ?? '—'));
  return `${label} [${bar}] ${Math.floor(fraction * 100)}% | ${value}/${total} | ${formatDuration(elapsed)}${limit} | ETA ${fraction > 0 ? formatDuration(eta) : '—'}${fields}`;
}
