import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { plotResultsTraining } from '../src/experiment/plot.js';
import { writeBenchResult } from './results-io.js';
import { DEFAULT_POLICY, evaluateCell, readTraining, summarise } from './check-manipulation.js';

describe('check:manipulation', () => {
  it('the committed critic carries a non-empty training curve, and embody plot draws it from a results JSON', () => {
    const { report, curve } = readTraining(DEFAULT_POLICY);
    expect(report?.scene).toBe('manip-mixed');
    expect(curve.length).toBeGreaterThan(10);
    expect(curve.every((p, i) => i === 0 || p.motions > curve[i - 1].motions)).toBe(true);
    const dir = mkdtempSync(path.join(tmpdir(), 'embody-cm-'));
    try {
      const file = writeBenchResult(dir, 'check-manipulation-test', { rows: [], training: curve });
      const svg = readFileSync(plotResultsTraining(file), 'utf8');
      expect(svg.match(/<polyline/g)?.length).toBe(2);
      expect(svg).toContain('>motions<');
      expect(readFileSync(plotResultsTraining(file, { metrics: ['epsilon'], outFile: path.join(dir, 'e.svg') }), 'utf8').match(/<polyline/g)?.length).toBe(1);
      expect(() => plotResultsTraining(file, { metrics: ['sucess'] })).toThrow(/no training figure "sucess".*success/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('one cell is a plain function of its arguments: the same seed gives the same row', async () => {
    const a = await evaluateCell('manip-clutter', 'heuristic', 0, 1);
    const b = await evaluateCell('manip-clutter', 'heuristic', 0, 1);
    expect({ ...b, seconds: 0 }).toEqual({ ...a, seconds: 0 });
    expect(a.episodes).toBe(1);
    const { lines, summary } = summarise([a], ['manip-clutter'], ['heuristic']);
    expect(lines).toHaveLength(3);
    expect(summary[0]).toMatchObject({ scene: 'manip-clutter', controller: 'heuristic', success: a.success, seeds: 1 });
  }, 120_000);

  it('an unknown critic variant is refused by name', async () => {
    await expect(evaluateCell('manip-clutter', 'critic-bogus', 0, 1)).rejects.toThrow(/critic-bogus/);
  });
});
