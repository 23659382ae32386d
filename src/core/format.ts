/**
 * One rule for every number in a table: 4 significant digits, except that the integer
 * part is never rounded away (12345.6 → "12346"), and exponent form below 1e-4.
 * Integers print as integers. NaN and ±Infinity print as "—" and "±inf".
 */
export const SIGNIFICANT_DIGITS = 4;

export function formatNumber(x: number): string {
  if (Number.isNaN(x)) return '—';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (Number.isInteger(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 10 ** (SIGNIFICANT_DIGITS - 1)) return x.toFixed(0);
  if (a < 1e-4) return x.toExponential(SIGNIFICANT_DIGITS - 1);
  // toPrecision keeps trailing zeros that carry precision (0.5000): drop them, they carry none here.
  return String(Number(x.toPrecision(SIGNIFICANT_DIGITS)));
}

/** `mean ± std`, both by formatNumber. */
export function formatMeanStd(v: { mean: number; std: number }): string {
  return `${formatNumber(v.mean)} ± ${formatNumber(v.std)}`;
}

/** Seconds as `1h02m`, `3m05s` or `12.3 s`: whole units, never `12m60s`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '—';
  if (seconds < 59.5) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const p = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}h${p(m)}m` : `${m}m${p(s)}s`;
}
