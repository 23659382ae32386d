import { distance } from 'fastest-levenshtein';

/**
 * "Did you mean" for a mistyped name (a scene, controller, metric): the closest candidate
 * within a third of the input's length in edits (at least 2), as git and commander suggest.
 */
export function closestName(input: string, candidates: readonly string[]): string | undefined {
  const limit = Math.max(2, Math.floor(input.length / 3));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = distance(input.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return bestDistance <= limit ? best : undefined;
}

/** ` Did you mean "x"?` or the empty string, for the end of an error message. */
export function didYouMean(input: string, candidates: readonly string[]): string {
  const match = closestName(input, candidates);
  return match ? ` Did you mean "${match}"?` : '';
}
