import type { DtConfig } from '../dt/config.js';
import type { Weights } from '../dt/weights.js';
import { FLOAT, float, INT64, OnnxGraph } from './onnx-graph.js';

export interface DtExportModel {
  config: DtConfig;
  obsDim: number;
  actDim: number;
  /** Merged weights (LoRA folded in: controllers/dt/weights.ts mergeLora). */
  weights: Weights;
  obsMean: ArrayLike<number>;
  obsStd: ArrayLike<number>;
  rtgScale: number;
}

/** Added to the attention logits of keys a query must not see: exp(−1e9 − max) is exactly 0 in float32. */
const MASKED = -1e9;

/**
 * The decision transformer (Chen et al. 2021) at a fixed context of K timesteps as one ONNX
 * graph: the reference DT's pass over the last K (R̂, s, a) triples, i.e. what
 * controllers/dt/infer.ts computes for an episode's first K steps. Inputs, left-padded when
 * fewer than K steps exist (mask 0 on the padding):
 *
 *   returns_to_go [batch, K]          float32, reward units (divided by the RTG scale inside)
 *   states        [batch, K, obsDim]  float32, raw observations (normalised inside)
 *   actions       [batch, K, actDim]  float32, the actions taken (the last row is not read)
 *   timesteps     [batch, K]          int64, steps since reset
 *   mask          [batch, K]          float32, 1 for a real step, 0 for padding
 * Output: action [batch, actDim], tanh(head(h(s_{K−1}))), the action for the newest state.
 */
export function dtPolicyOnnx(m: DtExportModel): Uint8Array {
  const c = m.config;
  const K = c.K;
  const H = c.embed;
  const T = 3 * K - 1; // R̂_0 s_0 a_0 … R̂_{K−1} s_{K−1}
  const nh = c.heads;
  const hd = H / nh;
  const w = m.weights;
  const g = new OnnxGraph('embody-dt');
  const W = (name: string, dims: number[]) => g.floats(w[name], dims);
  const affine = (x: string, name: string, nIn: number, nOut: number) => g.node('Add', [g.node('MatMul', [x, W(`${name}_W`, [nIn, nOut])]), W(`${name}_b`, [nOut])]);
  const layerNorm = (x: string, prefix: string) => g.node('LayerNormalization', [x, W(`${prefix}_g`, [H]), W(`${prefix}_b`, [H])], { axis: -1, epsilon: float(1e-5) });

  const rtg = g.input('returns_to_go', FLOAT, ['batch', K]);
  const states = g.input('states', FLOAT, ['batch', K, m.obsDim]);
  const actions = g.input('actions', FLOAT, ['batch', K, m.actDim]);
  const timesteps = g.input('timesteps', INT64, ['batch', K]);
  const mask = g.input('mask', FLOAT, ['batch', K]);

  // Token embeddings (+ the timestep's learned embedding), interleaved R̂, s, a per step.
  const ts = g.node('Gather', [W('ts_emb', [c.maxTimestep, H]), g.node('Clip', [timesteps, g.int64s([0], []), g.int64s([c.maxTimestep - 1], [])])], { axis: 0 });
  const r = g.node('Unsqueeze', [g.node('Div', [rtg, g.floats([m.rtgScale], [])]), g.int64s([2])]);
  const sn = g.node('Div', [g.node('Sub', [states, g.floats(m.obsMean, [m.obsDim])]), g.floats(m.obsStd, [m.obsDim])]);
  const token = (x: string, name: string, nIn: number) => g.node('Unsqueeze', [g.node('Add', [affine(x, name, nIn, H), ts]), g.int64s([2])]);
  const stacked = g.node('Concat', [token(r, 'ret', 1), token(sn, 'st', m.obsDim), token(actions, 'ac', m.actDim)], { axis: 2 });
  const first = (x: string) => g.node('Slice', [x, g.int64s([0]), g.int64s([T]), g.int64s([1])]);
  let x = layerNorm(first(g.node('Reshape', [stacked, g.int64s([0, 3 * K, H])])), 'ln_in');

  // Attention bias: causal, plus the padding's keys masked out.
  const causal = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) causal[i * T + j] = MASKED;
  const m3 = g.node('Unsqueeze', [mask, g.int64s([2])]);
  const tokenMask = first(g.node('Reshape', [g.node('Concat', [m3, m3, m3], { axis: 2 }), g.int64s([0, 3 * K])]));
  const keyBias = g.node('Unsqueeze', [g.node('Mul', [g.node('Sub', [tokenMask, g.floats([1], [])]), g.floats([-MASKED], [])]), g.int64s([1, 2])]);
  const bias = g.node('Add', [g.floats(causal, [T, T]), keyBias]);

  const heads = (x: string, perm: number[]) => g.node('Transpose', [g.node('Reshape', [x, g.int64s([0, T, nh, hd])])], { perm });
  for (let l = 0; l < c.layers; l++) {
    const p = `h${l}.`;
    const h = layerNorm(x, `h${l}.ln1`);
    const q = heads(affine(h, p + 'q', H, H), [0, 2, 1, 3]);
    const k = heads(affine(h, p + 'k', H, H), [0, 2, 3, 1]);
    const v = heads(affine(h, p + 'v', H, H), [0, 2, 1, 3]);
    const scores = g.node('Add', [g.node('Mul', [g.node('MatMul', [q, k]), g.floats([1 / Math.sqrt(hd)], [])]), bias]);
    const att = g.node('Softmax', [scores], { axis: -1 });
    const y = g.node('Reshape', [g.node('Transpose', [g.node('MatMul', [att, v])], { perm: [0, 2, 1, 3] }), g.int64s([0, T, H])]);
    x = g.node('Add', [x, affine(y, p + 'o', H, H)]);
    const f = g.node('Relu', [affine(layerNorm(x, `h${l}.ln2`), p + 'fc', H, c.mlpRatio * H)]);
    x = g.node('Add', [x, affine(f, p + 'pj', c.mlpRatio * H, H)]);
  }
  const last = layerNorm(g.node('Gather', [x, g.int64s([T - 1], [])], { axis: 1 }), 'lnf');
  g.output('action', g.node('Tanh', [affine(last, 'head', H, m.actDim)]), FLOAT, ['batch', m.actDim]);
  return g.encode(`embody decision transformer, fixed context K=${K} (left-pad with mask 0); inputs returns_to_go, states, actions, timesteps, mask; output action`);
}
