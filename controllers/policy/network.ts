import { z } from 'zod';

/**
 * A feed-forward network as data: the layer list plus flat Float32Array weights. The same
 * spec builds the tfjs training network (controllers/nn/mlp.ts), the Keras-style `model.json`
 * of the policy artifact, and the pure-JS forward pass below that the policy controller uses.
 *
 * The forward here needs no tfjs, so a robot can run a policy with nothing but this file; and
 * since training-time evaluation and the reloaded artifact both run this code on the same
 * float32 weights, a reloaded policy acts bit for bit as before saving.
 */
export const LayerSpecSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('dense'), units: z.number().int().positive(), activation: z.enum(['linear', 'relu', 'tanh']) }),
  z.strictObject({ type: z.literal('layerNorm'), epsilon: z.number().positive() }),
  z.strictObject({ type: z.literal('dropout'), rate: z.number().min(0).max(1) }),
  z.strictObject({ type: z.literal('activation'), activation: z.enum(['relu', 'tanh']) }),
]);
export type LayerSpec = z.infer<typeof LayerSpecSchema>;

export const NetworkSpecSchema = z.strictObject({
  inputSize: z.number().int().positive(),
  layers: z.array(LayerSpecSchema).min(1),
});
export type NetworkSpec = z.infer<typeof NetworkSpecSchema>;

/** One weight tensor: name, shape (row-major; dense kernels are [in, out], as Keras stores them). */
export interface WeightShape {
  name: string;
  shape: number[];
}

/** Weight names and shapes in order: dense → kernel, bias; layerNorm → gamma, beta. */
export function weightShapes(spec: NetworkSpec): WeightShape[] {
  const out: WeightShape[] = [];
  let width = spec.inputSize;
  spec.layers.forEach((layer, i) => {
    if (layer.type === 'dense') {
      out.push({ name: `dense_${i}/kernel`, shape: [width, layer.units] }, { name: `dense_${i}/bias`, shape: [layer.units] });
      width = layer.units;
    } else if (layer.type === 'layerNorm') {
      out.push({ name: `layer_norm_${i}/gamma`, shape: [width] }, { name: `layer_norm_${i}/beta`, shape: [width] });
    }
  });
  return out;
}

export function outputSize(spec: NetworkSpec): number {
  let width = spec.inputSize;
  for (const l of spec.layers) if (l.type === 'dense') width = l.units;
  return width;
}

/** An MLP spec: hidden dense layers, each optionally followed by Dropout → LayerNorm (STAC's order), then the activation. */
export function mlpSpec(opts: {
  inputSize: number;
  hidden: number[];
  outputSize: number;
  activation?: 'relu' | 'tanh';
  dropout?: number;
  layerNorm?: boolean;
  layerNormEpsilon?: number;
}): NetworkSpec {
  const act = opts.activation ?? 'relu';
  const layers: LayerSpec[] = [];
  for (const units of opts.hidden) {
    if (!opts.dropout && !opts.layerNorm) {
      layers.push({ type: 'dense', units, activation: act });
      continue;
    }
    layers.push({ type: 'dense', units, activation: 'linear' });
    if (opts.dropout) layers.push({ type: 'dropout', rate: opts.dropout });
    if (opts.layerNorm) layers.push({ type: 'layerNorm', epsilon: opts.layerNormEpsilon ?? 1e-5 });
    layers.push({ type: 'activation', activation: act });
  }
  layers.push({ type: 'dense', units: opts.outputSize, activation: 'linear' });
  return { inputSize: opts.inputSize, layers };
}

function activate(x: Float64Array, fn: 'linear' | 'relu' | 'tanh'): void {
  if (fn === 'relu') for (let i = 0; i < x.length; i++) x[i] = x[i] > 0 ? x[i] : 0;
  else if (fn === 'tanh') for (let i = 0; i < x.length; i++) x[i] = Math.tanh(x[i]);
}

/**
 * Inference for one input vector, in float64 over float32 weights (dropout is the identity at
 * inference). Deterministic: same weights and input give the same output on every JS engine
 * that follows IEEE 754 (Math.tanh aside, which V8 computes the same way everywhere).
 */
export class NetworkRunner {
  private readonly weights: Float32Array[];
  private readonly shapes: WeightShape[];

  constructor(
    readonly spec: NetworkSpec,
    weights: Float32Array[],
  ) {
    this.shapes = weightShapes(spec);
    if (weights.length !== this.shapes.length) throw new RangeError(`network expects ${this.shapes.length} weight tensors, got ${weights.length}`);
    this.shapes.forEach((s, i) => {
      const n = s.shape.reduce((a, b) => a * b, 1);
      if (weights[i].length !== n) throw new RangeError(`weight ${s.name}: expected ${n} values, got ${weights[i].length}`);
    });
    this.weights = weights;
  }

  forward(input: ArrayLike<number>): Float64Array {
    if (input.length !== this.spec.inputSize) throw new RangeError(`network input: expected ${this.spec.inputSize} values, got ${input.length}`);
    let x = Float64Array.from(input as ArrayLike<number>);
    let w = 0;
    for (const layer of this.spec.layers) {
      if (layer.type === 'dense') {
        const kernel = this.weights[w++];
        const bias = this.weights[w++];
        const nIn = x.length;
        const nOut = layer.units;
        const y = new Float64Array(nOut);
        for (let o = 0; o < nOut; o++) y[o] = bias[o];
        // Row-major [in, out]: stream each kernel row once.
        for (let i = 0; i < nIn; i++) {
          const xi = x[i];
          if (xi === 0) continue;
          const row = i * nOut;
          for (let o = 0; o < nOut; o++) y[o] += xi * kernel[row + o];
        }
        activate(y, layer.activation);
        x = y;
      } else if (layer.type === 'layerNorm') {
        const gamma = this.weights[w++];
        const beta = this.weights[w++];
        let mean = 0;
        for (let i = 0; i < x.length; i++) mean += x[i];
        mean /= x.length;
        let v = 0;
        for (let i = 0; i < x.length; i++) v += (x[i] - mean) ** 2;
        v /= x.length;
        const inv = 1 / Math.sqrt(v + layer.epsilon);
        for (let i = 0; i < x.length; i++) x[i] = (x[i] - mean) * inv * gamma[i] + beta[i];
      } else if (layer.type === 'activation') {
        activate(x, layer.activation);
      }
      // dropout: identity at inference
    }
    return x;
  }
}
