import { describe, expect, it } from 'vitest';
import { formatDuration, formatNumber } from './format.js';

describe('formatNumber: one significant-digit rule', () => {
  it('gives 4 significant digits, keeps integer parts, and never shows exponents above 1e-4', () => {
    expect(formatNumber(0.123456)).toBe('0.1235');
    expect(formatNumber(12.34567)).toBe('12.35');
    expect(formatNumber(-123.456)).toBe('-123.5');
    expect(formatNumber(12345.6)).toBe('12346');
    expect(formatNumber(500)).toBe('500');
    expect(formatNumber(0.5)).toBe('0.5');
    expect(formatNumber(0.00001234)).toBe('1.234e-5');
    expect(formatNumber(NaN)).toBe('—');
  });
  it('formats durations without 12m60s', () => {
    expect(formatDuration(779.6)).toBe('13m00s');
    expect(formatDuration(59.97)).toBe('1m00s');
    expect(formatDuration(3725)).toBe('1h02m');
    expect(formatDuration(4.25)).toBe('4.3 s');
  });
});
