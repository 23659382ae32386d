import { describe, expect, it } from 'vitest';
import { closestName, didYouMean } from './suggest.js';

describe('didYouMean', () => {
  it('suggests the closest name within a few edits, and nothing for a far one', () => {
    expect(closestName('uav-smal', ['uav-small', 'uav-city', 'pendulum'])).toBe('uav-small');
    expect(closestName('tuor', ['tour', 'greedy', 'hover'])).toBe('tour');
    expect(closestName('zzzzzz', ['tour', 'greedy'])).toBeUndefined();
    expect(didYouMean('Pendulm', ['pendulum'])).toBe(' Did you mean "pendulum"?');
    expect(didYouMean('x', [])).toBe('');
  });
});
