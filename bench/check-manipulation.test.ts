import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, evaluateCell, readTraining, summarise, trainingSvg } from './check-manipulation.js';

describe('check:manipulation', () => {
  it('the committed critic carries a non-empty training curve, and it plots', () => {
    const { report, curve } = readTraining(DEFAULT_POLICY);
    expect(report?.scene).toBe('manip-mixed');
    expect(curve.length).toBeGreaterThan(10);
    expect(curve.every((p, i) => i === 0 || p.motions > curve[i - 1].motions)).toBe(true);
    const svg = trainingSvg(curve, 'test');
    expect(svg.match(/<polyline/g)?.length).toBe(2);
    expect(svg).toContain('>motions<');
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
