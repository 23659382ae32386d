import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RunDir } from './run-dir.js';
import { curvesFromRuns, plotRuns } from './plot.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'embody-plot-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('plot', () => {
  it('averages eval returns across seeds with a std band, and writes SVG into each run', () => {
    const dirs = [0, 1].map((seed) => {
      const run = RunDir.create(tmp, { command: 'train', scene: 'pendulum', controller: 'sac', seed, backend: 'wasm' });
      run.logMetrics(100, { kind: 'episode', return: -5000 });
      run.logMetrics(1000, { kind: 'eval', return: -1000 + seed * 100 });
      run.logMetrics(2000, { kind: 'eval', return: -200 - seed * 50 });
      return run.dir;
    });
    const [curve] = curvesFromRuns(dirs);
    expect(curve.steps).toEqual([1000, 2000]);
    expect(curve.mean).toEqual([-950, -225]);
    expect(curve.std[0]).toBeCloseTo(Math.sqrt(5000), 9);
    const files = plotRuns(dirs);
    const svg = readFileSync(files[0], 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('<polygon'); // the band
    expect(svg).toContain('pendulum · sac (2 runs)');
  });
});
