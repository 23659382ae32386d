import type { Controller } from '../../src/core/controller.js';
import type { Action } from '../../src/core/env.js';
import type { ObservationNormalization, PolicyHead } from './manifest.js';
import { NetworkRunner, type NetworkSpec } from './network.js';
import { RunningNormalizer, StandardNormalizer, type NormalizerState } from './normalizer.js';

/**
 * The deterministic controller of a policy: normalise (frozen) → network → head → action scaling.
 * Pure JS over float32 weights; it needs only what the artifact holds.
 */
export interface PolicyParts {
  kind: string;
  network: { spec: NetworkSpec; weights: Float32Array[] };
  head: PolicyHead;
  /** Box action size, or the number of discrete actions. */
  actionSize: number;
  normalizer?: ObservationNormalization | NormalizerState | RunningNormalizer | null;
  actionScaling?: { low: ArrayLike<number>; high: ArrayLike<number> } | null;
}

export class PolicyController implements Controller {
  readonly kind: string;
  private readonly runner: NetworkRunner;
  private readonly normalizer: RunningNormalizer | StandardNormalizer | null;
  private readonly head: PolicyHead;
  private readonly actionSize: number;
  private readonly scaling: { low: Float64Array; high: Float64Array } | null;
  private readonly normBuf: Float32Array;

  constructor(parts: PolicyParts) {
    this.kind = parts.kind;
    this.runner = new NetworkRunner(parts.network.spec, parts.network.weights);
    this.normalizer = frozenNormalizer(parts.normalizer);
    this.head = parts.head;
    this.actionSize = parts.actionSize;
    this.scaling = parts.actionScaling
      ? { low: Float64Array.from(parts.actionScaling.low), high: Float64Array.from(parts.actionScaling.high) }
      : null;
    this.normBuf = new Float32Array(parts.network.spec.inputSize);
  }

  reset(): void {}

  /** The raw network output for an observation (after normalisation), for tests and debugging. */
  forward(obs: Float32Array): Float64Array {
    const x = this.normalizer ? this.normalizer.normalize(obs, this.normBuf) : obs;
    return this.runner.forward(x);
  }

  act(obs: Float32Array): Action {
    if (obs.length !== this.normBuf.length) throw new RangeError(`policy ${this.kind}: expected an observation of ${this.normBuf.length} values, got ${obs.length}`);
    const y = this.forward(obs);
    if (this.head === 'categorical-argmax' || this.head === 'q-argmax') {
      let best = 0;
      for (let i = 1; i < this.actionSize; i++) if (y[i] > y[best]) best = i;
      return best;
    }
    const a = new Float32Array(this.actionSize);
    for (let i = 0; i < this.actionSize; i++) {
      const u = this.head === 'tanh-gaussian-mean' ? Math.tanh(y[i]) : Math.min(1, Math.max(-1, y[i]));
      a[i] = this.scaling ? this.scaling.low[i] + ((u + 1) / 2) * (this.scaling.high[i] - this.scaling.low[i]) : u;
    }
    return a;
  }
}

/** Always a frozen copy: evaluation never moves the statistics, and the learner's live one is untouched. */
export function frozenNormalizer(n: ObservationNormalization | NormalizerState | RunningNormalizer | null | undefined): RunningNormalizer | StandardNormalizer | null {
  if (!n) return null;
  if (n instanceof RunningNormalizer) return n.frozenCopy();
  if ('kind' in n && n.kind === 'standard') return new StandardNormalizer(Float64Array.from(n.mean), Float64Array.from(n.std));
  return RunningNormalizer.fromJSON(n as NormalizerState, true);
}
