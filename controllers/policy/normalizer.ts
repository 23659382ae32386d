/**
 * Running observation normalisation: Welford's online mean and variance (Welford 1962), merged
 * batch-wise with Chan et al.'s parallel formula. `normalize` gives clip((x − mean)/√(var + ε)).
 *
 * Frozen at evaluation and saved with the policy (manifest `observationNormalization`): the saved
 * mean/var are float64 numbers in JSON, which round-trip exactly, so a reloaded policy normalises
 * exactly as before saving.
 */
export interface NormalizerState {
  count: number;
  mean: number[];
  var: number[];
  clip: number;
  epsilon: number;
}

export class RunningNormalizer {
  count: number;
  readonly mean: Float64Array;
  /** Population variance (divided by count), as SB3's RunningMeanStd keeps it. */
  readonly var: Float64Array;
  frozen = false;

  constructor(
    readonly size: number,
    readonly clip = 10,
    readonly epsilon = 1e-8,
  ) {
    // SB3 starts count at ε so the first update is a plain average; we start at 0 and special-case it.
    this.count = 0;
    this.mean = new Float64Array(size);
    this.var = new Float64Array(size).fill(1);
  }

  /** Add one observation (ignored when frozen). */
  update(x: ArrayLike<number>): void {
    if (this.frozen) return;
    if (x.length !== this.size) throw new RangeError(`normalizer: expected ${this.size} values, got ${x.length}`);
    this.count += 1;
    const n = this.count;
    for (let i = 0; i < this.size; i++) {
      const delta = x[i] - this.mean[i];
      this.mean[i] += delta / n;
      // var_n = var_{n-1} + (δ·(x − mean_n) − var_{n-1}) / n  (population variance form)
      this.var[i] = n === 1 ? 0 : this.var[i] + (delta * (x[i] - this.mean[i]) - this.var[i]) / n;
    }
  }

  /** Normalise into `out` (a new Float32Array by default). Never updates the statistics. */
  normalize(x: ArrayLike<number>, out: Float32Array = new Float32Array(this.size)): Float32Array {
    // A shorter or longer input is a policy fed the wrong observation: never read past it or ignore the rest.
    if (x.length !== this.size) throw new RangeError(`normalizer: expected an observation of ${this.size} values, got ${x.length}`);
    for (let i = 0; i < this.size; i++) {
      const z = (x[i] - this.mean[i]) / Math.sqrt(this.var[i] + this.epsilon);
      out[i] = z > this.clip ? this.clip : z < -this.clip ? -this.clip : z;
    }
    return out;
  }

  /** Add every row of a row-major batch (N × size), e.g. the observations of a VectorEnv. */
  updateRows(rows: Float32Array): void {
    for (let i = 0; i < rows.length; i += this.size) this.update(rows.subarray(i, i + this.size));
  }

  /** Normalise every row of a row-major batch into a new array. */
  normalizeRows(rows: Float32Array): Float32Array {
    const out = new Float32Array(rows.length);
    for (let i = 0; i < rows.length; i += this.size) this.normalize(rows.subarray(i, i + this.size), out.subarray(i, i + this.size));
    return out;
  }

  toJSON(): NormalizerState {
    return { count: this.count, mean: Array.from(this.mean), var: Array.from(this.var), clip: this.clip, epsilon: this.epsilon };
  }

  /** From a saved state; the manifest's `kind: 'running'` tag, if present, is ignored. */
  static fromJSON(s: NormalizerState, frozen = false): RunningNormalizer {
    const n = new RunningNormalizer(s.mean.length, s.clip, s.epsilon);
    n.count = s.count;
    n.mean.set(s.mean);
    n.var.set(s.var);
    n.frozen = frozen;
    return n;
  }

  /** A frozen copy for evaluation: later updates to this one do not move it. */
  frozenCopy(): RunningNormalizer {
    return RunningNormalizer.fromJSON(this.toJSON(), true);
  }
}

/** A fixed standardisation z = (x − mean)/std (the decision transformer's dataset statistics). */
export class StandardNormalizer {
  readonly size: number;
  constructor(
    readonly mean: Float64Array,
    readonly std: Float64Array,
  ) {
    if (mean.length !== std.length) throw new RangeError(`normalizer: ${mean.length} means but ${std.length} stds`);
    this.size = mean.length;
  }

  normalize(x: ArrayLike<number>, out: Float32Array = new Float32Array(this.size)): Float32Array {
    if (x.length !== this.size) throw new RangeError(`normalizer: expected an observation of ${this.size} values, got ${x.length}`);
    for (let i = 0; i < this.size; i++) out[i] = (x[i] - this.mean[i]) / this.std[i];
    return out;
  }
}
