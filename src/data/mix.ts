import { ValidationError } from '../core/errors.js';

/**
 * Data sources of a (mixed) dataset. `--mix "tour:0.2,greedy+noise:0.3,random:0.5"` gives the
 * mostly-poor, few-good datasets Hong et al. 2023 study. `name+noise` adds Gaussian action noise
 * (σ from `--noise`, or `name+noise0.5` for σ = 0.5). `name` may be a policy directory.
 */
export interface SourceSpec {
  /** Scripted controller name or policy directory. */
  controller: string;
  /** σ of Gaussian noise added to the normalised action (then clipped to the action space). */
  noise: number;
  /** Share of the episodes. */
  fraction: number;
  /** Label stored with each episode. */
  label: string;
}

export function sourceLabel(controller: string, noise: number): string {
  return noise > 0 ? `${controller}+noise${noise}` : controller;
}

/** Parse a --mix string; fractions are normalised to sum to 1. */
export function parseMix(mix: string, defaultNoise = 0.3): SourceSpec[] {
  const parts = mix.split(',').map((s) => s.trim()).filter(Boolean);
  if (!parts.length) throw new ValidationError(`--mix: expected "name:fraction,...", got "${mix}"`);
  const out = parts.map((p) => {
    const i = p.lastIndexOf(':');
    if (i <= 0) throw new ValidationError(`--mix: "${p}" must be name:fraction, e.g. greedy+noise:0.3`);
    const fraction = Number(p.slice(i + 1));
    if (!(fraction > 0)) throw new ValidationError(`--mix: "${p}": fraction must be a positive number`);
    const name = p.slice(0, i);
    const m = /^(.*?)\+noise([0-9.]*)$/.exec(name);
    const controller = m ? m[1] : name;
    const noise = m ? (m[2] ? Number(m[2]) : defaultNoise) : 0;
    if (!Number.isFinite(noise) || noise < 0) throw new ValidationError(`--mix: "${p}": bad noise`);
    return { controller, noise, fraction, label: sourceLabel(controller, noise) };
  });
  const sum = out.reduce((a, s) => a + s.fraction, 0);
  for (const s of out) s.fraction /= sum;
  return out;
}

/**
 * Which source produces each of `episodes` episodes: counts by largest remainder, then
 * interleaved deterministically so that any prefix (an interrupted collection) is mixed too.
 */
export function assignSources(sources: SourceSpec[], episodes: number): number[] {
  const raw = sources.map((s) => s.fraction * episodes);
  const counts = raw.map(Math.floor);
  let left = episodes - counts.reduce((a, b) => a + b, 0);
  const order = raw.map((r, i) => [r - Math.floor(r), i] as const).sort((a, b) => b[0] - a[0]);
  for (let k = 0; left > 0; k++, left--) counts[order[k % order.length][1]]++;
  // Stride scheduling: source i next when its progress (used+1)/count is the smallest.
  const used = counts.map(() => 0);
  const out: number[] = [];
  for (let e = 0; e < episodes; e++) {
    let best = -1;
    let bestKey = Infinity;
    for (let i = 0; i < counts.length; i++) {
      if (used[i] >= counts[i]) continue;
      const key = (used[i] + 0.5) / counts[i];
      if (key < bestKey) {
        bestKey = key;
        best = i;
      }
    }
    used[best]++;
    out.push(best);
  }
  return out;
}
