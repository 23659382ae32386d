import { describe, expect, it } from 'vitest';
import { uavTaskKind } from '../../sim/uav/index.js';
import { BY_RETURN, isBetter, selectionScore } from './select.js';

const s = (fig: Record<string, number>) => Object.fromEntries(Object.entries(fig).map(([k, v]) => [k, { mean: v, std: 0 }]));

describe('policy-best selection', () => {
  it('on UAV, a policy that collects everything beats one that hovers to a higher return', () => {
    const rule = uavTaskKind.selectBy!;
    const hover = selectionScore(s({ return: 80, efficiencyBitPerJ: 8000, fractionCollected: 0.4 }), rule);
    const tour = selectionScore(s({ return: 60, efficiencyBitPerJ: 44000, fractionCollected: 1 }), rule);
    expect(isBetter(tour, hover)).toBe(true);
    expect(isBetter(hover, tour)).toBe(false);
    // Among full collections, efficiency decides.
    expect(isBetter(selectionScore(s({ return: 50, efficiencyBitPerJ: 45000, fractionCollected: 1 }), rule), tour)).toBe(true);
    // By return (the default and --select return), the hover policy would have won.
    expect(isBetter(selectionScore(s({ return: 80 }), BY_RETURN), selectionScore(s({ return: 60 }), BY_RETURN))).toBe(true);
  });
});
