import { describe, expect, it } from 'vitest';
import { renderLine } from './progress.js';

describe('training progress line', () => {
  it('starts with filled values, and counts towards --max-minutes when that binds first', () => {
    const start = renderLine('cartpole ppo s0', 10, 0, 100_000, 0, { fields: ' | return {ret}', initial: { ret: '—' }, maxSeconds: 300 }, { ret: '—' });
    expect(start).not.toMatch(/\{ret\}|NaN|Infinity/);
    expect(start).toContain('0/100000');
    // 10% of the steps after 150 s of a 300 s limit: the time binds, the bar is half full.
    const line = renderLine('x', 10, 10_000, 100_000, 150, { maxSeconds: 300, fields: ' | return {ret}' }, { ret: '12.5' });
    expect(line).toContain('[█████░░░░░] 50%');
    expect(line).toContain('of 5m00s limit');
    expect(line).toContain('ETA 2m30s');
    expect(line).toContain('return 12.5');
    // Steps bind: no limit shown.
    expect(renderLine('x', 10, 90_000, 100_000, 150, { maxSeconds: 3000 }, {})).not.toContain('limit');
    // Durations roll over whole minutes, never "12m60s".
    expect(renderLine('x', 10, 1, 2, 779.7, {}, {})).toContain('13m00s');
  });
});
