import { weightShapes, type MlpManifest } from '../policy/index.js';
import { FLOAT, float, INT64, OnnxGraph } from './onnx-graph.js';

/**
 * An MLP policy (SAC, STAC, PPO, DQN: controllers/policy) as one ONNX graph, folding in all the
 * PolicyController does around the network, so a robot needs onnxruntime and nothing else:
 *
 *   obs [batch, obsDim] → Sub(mean) → Div(√(var + ε)) → Clip(±clip)       frozen normalisation
 *       → Gemm / LayerNormalization / Relu / Tanh ...                     the network (dropout: identity)
 *       → head: Slice(mean) → Tanh (tanh-gaussian-mean) | Clip(±1) (gaussian-mean)
 *               | ArgMax (categorical-argmax, q-argmax: int64 action)
 *       → Mul((high − low)/2) → Add((high + low)/2)                        action scaling [−1, 1] → [low, high]
 *   → action [batch, actDim] (float32) or [batch] (int64)
 */
export function mlpPolicyOnnx(manifest: MlpManifest, weights: Float32Array[]): Uint8Array {
  const { network, head } = manifest.mlp;
  const g = new OnnxGraph(`embody-${manifest.kind}`);
  const obsDim = network.inputSize;
  let x = g.input('obs', FLOAT, ['batch', obsDim]);
  const norm = manifest.observationNormalization;
  if (norm?.kind === 'running') {
    x = g.node('Sub', [x, g.floats(norm.mean, [obsDim])]);
    x = g.node('Div', [x, g.floats(norm.var.map((v) => Math.sqrt(v + norm.epsilon)), [obsDim])]);
    x = g.node('Clip', [x, g.floats([-norm.clip], []), g.floats([norm.clip], [])]);
  } else if (norm?.kind === 'standard') {
    x = g.node('Div', [g.node('Sub', [x, g.floats(norm.mean, [obsDim])]), g.floats(norm.std, [obsDim])]);
  }
  const shapes = weightShapes(network);
  let w = 0;
  const next = () => {
    const i = w++;
    return g.floats(weights[i], shapes[i].shape);
  };
  for (const layer of network.layers) {
    if (layer.type === 'dense') {
      x = g.node('Gemm', [x, next(), next()]);
      if (layer.activation !== 'linear') x = g.node(layer.activation === 'relu' ? 'Relu' : 'Tanh', [x]);
    } else if (layer.type === 'layerNorm') {
      x = g.node('LayerNormalization', [x, next(), next()], { axis: -1, epsilon: float(layer.epsilon) });
    } else if (layer.type === 'activation') {
      x = g.node(layer.activation === 'relu' ? 'Relu' : 'Tanh', [x]);
    }
    // dropout: the identity at inference
  }
  const space = manifest.actionSpace;
  if (head === 'categorical-argmax' || head === 'q-argmax') {
    g.output('action', g.node('ArgMax', [x], { axis: 1, keepdims: 0, select_last_index: 0 }), INT64, ['batch']);
    return g.encode(docOf(manifest));
  }
  if (space.kind !== 'box') throw new RangeError(`policy head ${head} needs a Box action space`);
  const A = space.low.length;
  // The first A outputs are the action means (the rest, if any, log-stds).
  x = g.node('Slice', [x, g.int64s([0]), g.int64s([A]), g.int64s([1])]);
  x = head === 'tanh-gaussian-mean' ? g.node('Tanh', [x]) : g.node('Clip', [x, g.floats([-1], []), g.floats([1], [])]);
  const s = manifest.actionScaling;
  if (s) {
    x = g.node('Mul', [x, g.floats(s.high.map((h, i) => (h - s.low[i]) / 2), [A])]);
    x = g.node('Add', [x, g.floats(s.high.map((h, i) => (h + s.low[i]) / 2), [A])]);
  }
  g.output('action', x, FLOAT, ['batch', A]);
  return g.encode(docOf(manifest));
}

function docOf(m: MlpManifest): string {
  return `embody ${m.kind} policy for ${m.taskId}${m.trainingRunId ? ` (run ${m.trainingRunId})` : ''}: input obs [batch, ${m.mlp.network.inputSize}] raw observations; output action in the env's units`;
}
