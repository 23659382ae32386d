import type { SelectionRule } from '../../sim/task.js';

/**
 * Ranking evaluations for policy-best/ by the task's selection rule (sim/task.ts SelectionRule),
 * or by `--select <metric>`. A score is a pair compared in order: [meets the requirements,
 * figure], so any evaluation that meets them beats every one that does not.
 */
export type Summary = Record<string, { mean: number; std: number }>;
export type SelectionScore = [number, number];

export const BY_RETURN: SelectionRule = { metric: 'return' };

/** Requirements are met within rounding: a fraction of 0.9999999 collected counts as 1. */
const TOLERANCE = 1e-6;

export function selectionScore(summary: Summary, rule: SelectionRule): SelectionScore {
  const meets = Object.entries(rule.require ?? {}).every(([k, v]) => (summary[k]?.mean ?? -Infinity) >= v - TOLERANCE);
  const figure = meets ? summary[rule.metric]?.mean : summary.return?.mean;
  return [meets ? 1 : 0, Number.isFinite(figure) ? figure! : -Infinity];
}

export function isBetter(a: SelectionScore, b: SelectionScore | null): boolean {
  return b === null || a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]);
}

/** `efficiencyBitPerJ where fractionCollected ≥ 1` for messages and config.json. */
export function describeRule(rule: SelectionRule): string {
  const req = Object.entries(rule.require ?? {}).map(([k, v]) => `${k} ≥ ${v}`);
  return req.length ? `${rule.metric} where ${req.join(', ')}` : rule.metric;
}

/** Check a rule's names against the figures an evaluation gives, with the known names in the error. */
export function checkRule(rule: SelectionRule, summary: Summary): void {
  const known = Object.keys(summary);
  for (const name of [rule.metric, ...Object.keys(rule.require ?? {})]) {
    if (!(name in summary)) throw new Error(`--select: this task's evaluations have no figure "${name}"; known: ${known.join(', ')}`);
  }
}
