import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Every figure in a README comes from a results file. A table of figures is preceded by
 *
 *   <!-- figures: bench/results/2026-12-01-env.json [more.json ...] [| ignore: column, column] -->
 *
 * and every number in its data rows (outside ignored columns) must be found in one of those
 * JSON files, at the precision the README prints it. A table with a ± in it and no such
 * comment is an unsourced figure. `npm run check:figures` runs this over every README.
 */

export interface FigureProblem {
  file: string;
  line: number;
  text: string;
  reason: string;
}

interface Annotation {
  sources: string[];
  ignore: Set<string>;
}

const ANNOTATION = /^<!--\s*figures:\s*(.*?)\s*-->\s*$/;

export function parseAnnotation(line: string): Annotation | null {
  const m = ANNOTATION.exec(line.trim());
  if (!m) return null;
  const [src, ign] = m[1].split('|');
  const sources = src.trim().split(/\s+/).filter(Boolean);
  const ignore = new Set(
    (ign ?? '')
      .replace(/^\s*ignore:\s*/, '')
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  );
  return { sources, ignore };
}

/** A number as printed: its value, the half-width of its last printed digit, and its suffix. */
export interface PrintedNumber {
  text: string;
  value: number;
  halfUlp: number;
  percent: boolean;
  unit: string;
}

const MINUS = /[−–]/g;
// 44306, 44 306 (grouped by spaces), −130.9, 50.9k, 1.2M, 90%, 1.41×, 1e-5
const NUMBER = /-?\d{1,3}(?:[ \u202f\u2009]\d{3})+(?:\.\d+)?|-?\d+(?:\.\d+)?(?:e-?\d+)?/g;

export function printedNumbers(cell: string, percentColumn = false): PrintedNumber[] {
  const s = cell.replace(MINUS, '-').replace(/`[^`]*`/g, ' ');
  // "74.8 ± 43.6%": the % applies to every number of the cell.
  const cellPercent = percentColumn || s.includes('%');
  const out: PrintedNumber[] = [];
  for (const m of s.matchAll(NUMBER)) {
    const start = m.index ?? 0;
    const before = s[start - 1] ?? ' ';
    // Part of a word or identifier (uav-small, s0, v2, 2×256 is two numbers): skip letters glued before.
    if (/[A-Za-z_]/.test(before)) continue;
    let text = m[0];
    const after = s.slice(start + text.length);
    const digits = text.replace(/[ \u202f\u2009]/g, '');
    let value = Number(digits);
    if (!Number.isFinite(value)) continue;
    const decimals = digits.includes('e') ? 0 : (digits.split('.')[1]?.length ?? 0);
    let halfUlp = digits.includes('e') ? Math.abs(value) * 0.05 : 0.5 * 10 ** -decimals;
    let percent = cellPercent;
    const unit = /^\s?(min|h)\b/.exec(after)?.[1] ?? '';
    const suffix = /^(k|M)\b/.exec(after);
    if (suffix) {
      const mult = suffix[1] === 'k' ? 1e3 : 1e6;
      value *= mult;
      halfUlp *= mult;
      text += suffix[1];
    } else if (after.startsWith('%')) {
      percent = true;
      text += '%';
    } else if (/^[A-Za-z]/.test(after) && !/^(ms|s|m|h|min|kJ|J|Hz|µs|us|GiB|MB|KB|B|x)\b/.test(after)) {
      // A number glued to a word (3D, 2opt) is a name, not a figure.
      continue;
    }
    out.push({ text, value, halfUlp, percent, unit });
  }
  return out;
}

/**
 * Every number in a JSON value (numbers, and strings that are numbers). A numeric array
 * (per-seed figures) also contributes its mean, population and sample std, min, max and median,
 * since a README prints those of the values the results file keeps.
 */
export function jsonNumbers(value: unknown, out: number[] = []): number[] {
  if (typeof value === 'number' && Number.isFinite(value)) out.push(value);
  else if (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value.trim())) out.push(Number(value));
  else if (Array.isArray(value)) {
    for (const v of value) jsonNumbers(v, out);
    if (value.length > 1 && value.every((v) => typeof v === 'number' && Number.isFinite(v))) out.push(...arrayStats(value as number[]));
  } else if (value && typeof value === 'object') for (const v of Object.values(value)) jsonNumbers(v, out);
  return out;
}

function arrayStats(xs: number[]): number[] {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const ss = xs.reduce((a, b) => a + (b - mean) ** 2, 0);
  const sorted = [...xs].sort((a, b) => a - b);
  const median = n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  return [mean, Math.sqrt(ss / n), Math.sqrt(ss / (n - 1)), sorted[0], sorted[n - 1], median];
}

export function matches(n: PrintedNumber, pool: number[]): boolean {
  const tol = n.halfUlp * (1 + 1e-9) + 1e-12;
  for (const x of pool) {
    if (Math.abs(x - n.value) <= tol) return true;
    if (n.percent && Math.abs(x * 100 - n.value) <= tol) return true;
    // Minutes and hours printed from seconds.
    if (n.unit === 'min' && Math.abs(x / 60 - n.value) <= tol) return true;
    if (n.unit === 'h' && Math.abs(x / 3600 - n.value) <= tol) return true;
  }
  return false;
}

function cells(row: string): string[] {
  return row.trim().replace(/^\|/, '').replace(/\|$/, '').split('|').map((c) => c.trim());
}

/**
 * Check one markdown file. `readJson` resolves a source path (relative to the repository root)
 * to its parsed content, or throws.
 */
export function checkMarkdown(file: string, markdown: string, readJson: (source: string) => unknown): FigureProblem[] {
  const lines = markdown.split('\n');
  const problems: FigureProblem[] = [];
  let pending: Annotation | null = null;
  let pendingLine = 0;
  let inFence = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.trim().startsWith('```')) inFence = !inFence;
    if (inFence) continue;
    const a = parseAnnotation(line);
    if (a) {
      pending = a;
      pendingLine = i + 1;
      continue;
    }
    if (!line.trim().startsWith('|')) {
      if (line.trim() !== '' && pending) {
        problems.push({ file, line: pendingLine, text: lines[pendingLine - 1], reason: 'a figures comment must stand right before its table' });
        pending = null;
      }
      continue;
    }
    // A table starts here: header, separator, rows.
    const header = cells(line).map((h) => h.toLowerCase());
    const start = i;
    const rows: { line: number; text: string }[] = [];
    i += 2;
    while (i < lines.length && lines[i].trim().startsWith('|')) rows.push({ line: i + 1, text: lines[i++] });
    i--;
    const annotation = pending;
    pending = null;
    if (!annotation) {
      if (rows.some((r) => /\d\s*±\s*[−-]?\d/.test(r.text))) {
        problems.push({ file, line: start + 1, text: line, reason: 'a table of figures (it has ±) names no results file: add <!-- figures: bench/results/… --> before it' });
      }
      continue;
    }
    const pool: number[] = [];
    for (const src of annotation.sources) {
      try {
        jsonNumbers(readJson(src), pool);
      } catch (e) {
        problems.push({ file, line: pendingLine, text: src, reason: `cannot read ${src}: ${(e as Error).message}` });
      }
    }
    for (const r of rows) {
      cells(r.text).forEach((cell, c) => {
        if (annotation.ignore.has(header[c] ?? '')) return;
        for (const n of printedNumbers(cell, (header[c] ?? '').includes('%'))) {
          if (!matches(n, pool)) {
            problems.push({ file, line: r.line, text: n.text, reason: `"${n.text}" (column "${header[c] ?? c}") is in none of ${annotation.sources.join(', ')}` });
          }
        }
      });
    }
  }
  return problems;
}

export function checkFiles(root: string, files: string[]): FigureProblem[] {
  const cache = new Map<string, unknown>();
  const readJson = (src: string) => {
    const p = path.resolve(root, src);
    if (!cache.has(p)) cache.set(p, JSON.parse(readFileSync(p, 'utf8')));
    return cache.get(p);
  };
  return files.flatMap((f) => checkMarkdown(path.relative(root, f) || f, readFileSync(f, 'utf8'), readJson));
}
