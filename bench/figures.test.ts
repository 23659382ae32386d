import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkFiles, checkMarkdown, printedNumbers } from './figures.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const results = { figures: [{ scene: 'uav-small', efficiency: 44306.4, std: 2735.9, fraction: 1, ratio: 1.2692 }, { success: 0.9 }] };
const readJson = (src: string) => {
  if (src !== 'bench/results/x.json') throw new Error('no such file');
  return results;
};
const table = (row: string) => `<!-- figures: bench/results/x.json | ignore: scene -->\n| scene | efficiency | ratio | success |\n| --- | --- | --- | --- |\n${row}\n`;

describe('check:figures', () => {
  it('reads printed numbers as they are printed: groups, signs, k, %', () => {
    expect(printedNumbers('50 900 ± 1 900').map((n) => n.value)).toEqual([50900, 1900]);
    expect(printedNumbers('−130.9').map((n) => n.value)).toEqual([-130.9]);
    expect(printedNumbers('50.9k bit/J')[0]).toMatchObject({ value: 50900, halfUlp: 50 });
    expect(printedNumbers('90%')[0]).toMatchObject({ value: 90, percent: true });
    expect(printedNumbers('uav-small s0 `--steps 300`')).toEqual([]);
  });

  it('accepts a table whose numbers are in its results file at the printed precision', () => {
    expect(checkMarkdown('R.md', table('| uav-small | 44306 ± 2736 | 1.27× | 90% |'), readJson)).toEqual([]);
  });

  it('fails when a number is edited by hand', () => {
    const problems = checkMarkdown('R.md', table('| uav-small | 44307 ± 2736 | 1.27× | 90% |'), readJson);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ line: 4, text: '44307' });
  });

  it('fails on a table of figures that names no results file, and on an unreadable one', () => {
    expect(checkMarkdown('R.md', '| a | b |\n| - | - |\n| x | 3 ± 1 |\n', readJson)[0].reason).toMatch(/names no results file/);
    const bad = checkMarkdown('R.md', '<!-- figures: bench/results/missing.json -->\n| a |\n| - |\n| 3 |\n', readJson);
    expect(bad.map((p) => p.reason).join('\n')).toMatch(/cannot read bench\/results\/missing.json/);
  });

  it('passes on every README of the repository, and fails on a copy with one figure edited', () => {
    const files = execFileSync('git', ['ls-files', '*README.md'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean).map((f) => path.join(ROOT, f));
    expect(checkFiles(ROOT, files)).toEqual([]);
    // Edit the first sourced figure of the top README by hand: the check must catch it.
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const lines = readme.split('\n');
    const at = lines.findIndex((l) => l.startsWith('<!-- figures:'));
    expect(at).toBeGreaterThanOrEqual(0);
    const row = at + 3;
    // The first figure of four or more digits: change its last digit.
    const edited = lines[row].replace(/(\d{3})(\d)(?!\d)/, (_, head: string, d: string) => `${head}${(Number(d) + 3) % 10}`);
    expect(edited).not.toBe(lines[row]);
    lines[row] = edited;
    const cache = new Map<string, unknown>();
    const problems = checkMarkdown('README.md', lines.join('\n'), (src) => {
      if (!cache.has(src)) cache.set(src, JSON.parse(readFileSync(path.join(ROOT, src), 'utf8')));
      return cache.get(src);
    });
    expect(problems.length).toBeGreaterThan(0);
  });
});
