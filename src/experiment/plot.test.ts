import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RunDir } from './run-dir.js';
import { writeJsonAtomic } from '../core/atomic.js';
import { curvesFromRuns, plotRuns, plotSweep } from './plot.js';

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

  it('groups a sweep by configuration: one curve per config, mean ± std across its seeds', () => {
    const sweepDir = path.join(tmp, 'sweep-a');
    const trials = [0.001, 0.01].flatMap((lr, c) =>
      [0, 1, 2].map((seed) => {
        const run = RunDir.create(path.join(sweepDir, `c${c}-s${seed}`), { command: 'train', scene: 'cartpole', controller: 'ppo', seed, backend: 'wasm' });
        run.logMetrics(256, { kind: 'eval', return: 10 * (c + 1) + seed });
        return { id: `c${c}-s${seed}`, label: `learningRate=${lr}`, status: 'done', runDir: path.relative(sweepDir, run.dir) };
      }),
    );
    writeJsonAtomic(path.join(sweepDir, 'sweep.json'), { id: 'sweep-a', spec: { name: 'lr', scene: 'cartpole', controller: 'ppo' }, trials });
    const file = plotSweep(sweepDir);
    const svg = readFileSync(file, 'utf8');
    expect(file).toBe(path.join(sweepDir, 'learning-curves.svg'));
    expect(svg).toContain('learningRate=0.001 (3 runs)');
    expect(svg).toContain('learningRate=0.01 (3 runs)');
    expect(svg.match(/<polygon/g)).toHaveLength(2);
    const curves = curvesFromRuns(trials.map((t) => path.join(sweepDir, t.runDir)), 'return', trials.map((t) => t.label));
    expect(curves.map((c) => c.mean[0])).toEqual([11, 21]);
    expect(curves[0].std[0]).toBeCloseTo(1, 12);
  });
});
