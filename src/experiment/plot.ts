import { existsSync, readFileSync } from 'node:fs';
import { ValidationError } from '../core/errors.js';
import { didYouMean } from '../core/suggest.js';
import path from 'node:path';
import { writeFileAtomic } from '../core/atomic.js';

/**
 * Learning curves as a hand-written SVG: one line per (scene, controller) group, the mean of the
 * evaluation return across the group's runs (seeds) at each evaluation step, with a ±1 std band.
 * A sweep directory (sweeps/<id>/, with sweep.json) groups its trials by configuration instead.
 */
export interface Curve {
  label: string;
  steps: number[];
  mean: number[];
  std: number[];
  runs: number;
}

interface RunInfo {
  dir: string;
  label: string;
  evals: Map<number, number>;
}

function readRun(dir: string, metric: string, label?: string): RunInfo {
  const cfgFile = path.join(dir, 'config.json');
  const metricsFile = path.join(dir, 'metrics.jsonl');
  if (!existsSync(cfgFile) || !existsSync(metricsFile)) throw new Error(`not a training run (no config.json/metrics.jsonl): ${dir}`);
  const cfg = JSON.parse(readFileSync(cfgFile, 'utf8'));
  const evals = new Map<number, number>();
  const figures = new Set<string>();
  for (const line of readFileSync(metricsFile, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const m = JSON.parse(line);
      if (m.kind === 'eval') for (const [k, v] of Object.entries(m)) if (typeof v === 'number' && k !== 'step') figures.add(k);
      if (m.kind === 'eval' && typeof m[metric] === 'number') evals.set(m.step, m[metric]);
    } catch {
      // a torn last line
    }
  }
  // An unknown metric is an error, not an empty chart.
  if (figures.size && !figures.has(metric)) {
    throw new ValidationError(`plot: ${dir} has no evaluation figure "${metric}".${didYouMean(metric, [...figures])} Known: ${[...figures].join(', ')}`);
  }
  return { dir, label: label ?? `${cfg.scene} · ${cfg.controller}`, evals };
}

/** `labels[i]`, when given, names the group of `dirs[i]` (default: its scene · controller). */
export function curvesFromRuns(dirs: string[], metric = 'return', labels?: string[]): Curve[] {
  const groups = new Map<string, RunInfo[]>();
  for (const [i, d] of dirs.entries()) {
    const r = readRun(d, metric, labels?.[i]);
    groups.set(r.label, [...(groups.get(r.label) ?? []), r]);
  }
  return [...groups.entries()].map(([label, runs]) => {
    // Steps every run of the group has reached (a shorter seed ends the curve).
    const steps = [...runs[0].evals.keys()].filter((s) => runs.every((r) => r.evals.has(s))).sort((a, b) => a - b);
    const mean: number[] = [];
    const std: number[] = [];
    for (const s of steps) {
      const xs = runs.map((r) => r.evals.get(s)!);
      const m = xs.reduce((a, b) => a + b, 0) / xs.length;
      mean.push(m);
      std.push(xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1)) : 0);
    }
    return { label: `${label} (${runs.length} run${runs.length > 1 ? 's' : ''})`, steps, mean, std, runs: runs.length };
  });
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];

function niceTicks(lo: number, hi: number, n = 5): number[] {
  const span = hi - lo || 1;
  const step0 = span / n;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((k) => k * mag).find((s) => s >= step0)!;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(Number(v.toPrecision(10)));
  return out;
}

export function renderSvg(curves: Curve[], title: string, yLabel = 'eval return'): string {
  const W = 720;
  const H = 420;
  const m = { l: 70, r: 20, t: 40, b: 50 };
  const all = curves.flatMap((c) => c.steps.map((_, i) => [c.mean[i] - c.std[i], c.mean[i] + c.std[i]]).flat());
  const xs = curves.flatMap((c) => c.steps);
  const [x0, x1] = [0, Math.max(1, ...xs)];
  let [y0, y1] = all.length ? [Math.min(...all), Math.max(...all)] : [0, 1];
  if (y0 === y1) [y0, y1] = [y0 - 1, y1 + 1];
  const pad = (y1 - y0) * 0.05;
  y0 -= pad;
  y1 += pad;
  const X = (v: number) => m.l + ((v - x0) / (x1 - x0)) * (W - m.l - m.r);
  const Y = (v: number) => H - m.b - ((v - y0) / (y1 - y0)) * (H - m.t - m.b);
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(title)}</text>`,
  ];
  for (const t of niceTicks(y0, y1)) {
    parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${Y(t).toFixed(1)}" y2="${Y(t).toFixed(1)}" stroke="#eee"/>`);
    parts.push(`<text x="${m.l - 6}" y="${(Y(t) + 4).toFixed(1)}" text-anchor="end">${t}</text>`);
  }
  for (const t of niceTicks(x0, x1)) {
    parts.push(`<line x1="${X(t).toFixed(1)}" x2="${X(t).toFixed(1)}" y1="${H - m.b}" y2="${H - m.b + 5}" stroke="#333"/>`);
    parts.push(`<text x="${X(t).toFixed(1)}" y="${H - m.b + 18}" text-anchor="middle">${t >= 1000 ? `${t / 1000}k` : t}</text>`);
  }
  parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${H - m.b}" y2="${H - m.b}" stroke="#333"/>`);
  parts.push(`<line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${H - m.b}" stroke="#333"/>`);
  parts.push(`<text x="${W / 2}" y="${H - 12}" text-anchor="middle">env steps</text>`);
  parts.push(`<text transform="translate(16 ${H / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`);
  curves.forEach((c, k) => {
    const color = COLORS[k % COLORS.length];
    if (c.steps.length === 0) return;
    if (c.runs > 1) {
      const upper = c.steps.map((s, i) => `${X(s).toFixed(1)},${Y(c.mean[i] + c.std[i]).toFixed(1)}`);
      const lower = c.steps.map((s, i) => `${X(s).toFixed(1)},${Y(c.mean[i] - c.std[i]).toFixed(1)}`).reverse();
      parts.push(`<polygon points="${[...upper, ...lower].join(' ')}" fill="${color}" fill-opacity="0.18" stroke="none"/>`);
    }
    parts.push(`<polyline points="${c.steps.map((s, i) => `${X(s).toFixed(1)},${Y(c.mean[i]).toFixed(1)}`).join(' ')}" fill="none" stroke="${color}" stroke-width="2"/>`);
    parts.push(`<rect x="${m.l + 12}" y="${m.t + 8 + k * 18}" width="14" height="4" fill="${color}"/>`);
    parts.push(`<text x="${m.l + 32}" y="${m.t + 14 + k * 18}">${esc(c.label)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

/** Plot the runs and write `learning-curve.svg` into each run directory (or into `outFile`). */
export function plotRuns(dirs: string[], opts: { metric?: string; outFile?: string } = {}): string[] {
  const metric = opts.metric ?? 'return';
  const curves = curvesFromRuns(dirs, metric);
  const svg = renderSvg(curves, `Learning curves (mean ± sample std across runs)`, `eval ${metric}`);
  const files = opts.outFile ? [opts.outFile] : dirs.map((d) => path.join(d, 'learning-curve.svg'));
  for (const f of files) writeFileAtomic(f, svg);
  return files;
}

/** The trials of a sweep, as sweep.json lists them (src/jobs/sweep-file.ts). */
interface SweepTrials {
  id: string;
  spec: { name: string; scene?: string; controller?: string };
  trials: { id: string; label: string; runDir: string | null; status: string }[];
}

export function isSweepDir(dir: string): boolean {
  return existsSync(path.join(dir, 'sweep.json'));
}

/** One curve per configuration of a sweep (mean ± std across its seeds), written to <sweep>/learning-curves.svg. */
export function plotSweep(sweepDir: string, opts: { metric?: string; outFile?: string } = {}): string {
  const metric = opts.metric ?? 'return';
  const sweep = JSON.parse(readFileSync(path.join(sweepDir, 'sweep.json'), 'utf8')) as SweepTrials;
  const trials = sweep.trials.filter((t) => t.runDir && existsSync(path.join(sweepDir, t.runDir, 'metrics.jsonl')));
  if (!trials.length) throw new Error(`${sweepDir}: no trial has a run directory with metrics.jsonl yet`);
  const curves = curvesFromRuns(
    trials.map((t) => path.join(sweepDir, t.runDir!)),
    metric,
    trials.map((t) => t.label),
  );
  const what = [sweep.spec.scene, sweep.spec.controller].filter(Boolean).join(' · ');
  const svg = renderSvg(curves, `Sweep ${sweep.spec.name}${what ? ` (${what})` : ''}: mean ± std across seeds`, `eval ${metric}`);
  const file = opts.outFile ?? path.join(sweepDir, 'learning-curves.svg');
  writeFileAtomic(file, svg);
  return file;
}

/** Whether `file` is a results JSON (bench/results/*.json) rather than a run or sweep directory. */
export function isResultsFile(file: string): boolean {
  return file.endsWith('.json') && existsSync(file);
}

/** The x axis of a results curve: the first of these keys its points carry. */
const CURVE_X = ['motions', 'step', 'steps', 'updates', 'epoch'] as const;

/**
 * Plot the training curve a results JSON stores under `figures.training` (a list of points such
 * as `{ motions, loss, success, … }`; `npm run check:manipulation` writes one): one line per
 * metric in `metrics` (default: success and loss where present), over the points' x key. Writes
 * `outFile` (default: the JSON's path with .svg) and returns it.
 */
export function plotResultsTraining(file: string, opts: { metrics?: string[]; outFile?: string } = {}): string {
  let doc: { figures?: { training?: unknown } };
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ValidationError(`plot: ${file} is not JSON (${(err as Error).message})`);
  }
  const points = doc.figures?.training;
  if (!Array.isArray(points) || !points.length) throw new ValidationError(`plot: ${file} has no training curve (figures.training is missing or empty)`);
  const first = points[0] as Record<string, unknown>;
  const xKey = CURVE_X.find((k) => typeof first[k] === 'number');
  if (!xKey) throw new ValidationError(`plot: ${file}: the training points have none of ${CURVE_X.join(', ')} for the x axis`);
  const numeric = Object.keys(first).filter((k) => k !== xKey && typeof first[k] === 'number');
  const metrics = opts.metrics?.length ? opts.metrics : ['success', 'loss'].filter((k) => numeric.includes(k));
  for (const m of metrics) {
    if (!numeric.includes(m)) throw new ValidationError(`plot: ${file} has no training figure "${m}".${didYouMean(m, numeric)} Known: ${numeric.join(', ')}`);
  }
  if (!metrics.length) throw new ValidationError(`plot: ${file}: name the figures to plot with --metric (known: ${numeric.join(', ')})`);
  const steps = points.map((p) => (p as Record<string, number>)[xKey]);
  const curves: Curve[] = metrics.map((m) => ({
    label: m,
    steps,
    mean: points.map((p) => (p as Record<string, number>)[m]),
    std: steps.map(() => 0),
    runs: 1,
  }));
  const svg = renderSvg(curves, `Training curve: ${path.basename(file)}`, metrics.join(' · ')).replace('>env steps<', `>${xKey}<`);
  const out = opts.outFile ?? file.replace(/\.json$/, '.svg');
  writeFileAtomic(out, svg);
  return out;
}
