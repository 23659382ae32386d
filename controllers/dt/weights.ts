import type { Rng } from '../../src/core/rng.js';
import type { DtConfig } from './config.js';

/**
 * The decision transformer's parameters as named Float32Arrays (row-major, dense kernels [in, out]).
 * Both the tfjs training graph (model.ts) and the pure-JS inference (infer.ts) read this table, so
 * a trained model runs on a robot with no tfjs.
 */
export interface ParamSpec {
  name: string;
  shape: number[];
  init: 'normal' | 'zeros' | 'ones' | 'lora-a';
}

export type Weights = Record<string, Float32Array>;

/** Projections that carry LoRA adapters: attention q, k, v, o and the MLP's two. */
export const LORA_TARGETS = ['q', 'k', 'v', 'o', 'fc', 'pj'] as const;

export function dtParamSpecs(c: DtConfig, obsDim: number, actDim: number): ParamSpec[] {
  const H = c.embed;
  const I = c.mlpRatio * H;
  const p: ParamSpec[] = [
    { name: 'ts_emb', shape: [c.maxTimestep, H], init: 'normal' },
    { name: 'ret_W', shape: [1, H], init: 'normal' },
    { name: 'ret_b', shape: [H], init: 'zeros' },
    { name: 'st_W', shape: [obsDim, H], init: 'normal' },
    { name: 'st_b', shape: [H], init: 'zeros' },
    { name: 'ac_W', shape: [actDim, H], init: 'normal' },
    { name: 'ac_b', shape: [H], init: 'zeros' },
    { name: 'ln_in_g', shape: [H], init: 'ones' },
    { name: 'ln_in_b', shape: [H], init: 'zeros' },
  ];
  for (let l = 0; l < c.layers; l++) {
    const dims: Record<string, [number, number]> = { q: [H, H], k: [H, H], v: [H, H], o: [H, H], fc: [H, I], pj: [I, H] };
    p.push({ name: `h${l}.ln1_g`, shape: [H], init: 'ones' }, { name: `h${l}.ln1_b`, shape: [H], init: 'zeros' });
    for (const n of ['q', 'k', 'v', 'o']) p.push({ name: `h${l}.${n}_W`, shape: dims[n], init: 'normal' }, { name: `h${l}.${n}_b`, shape: [dims[n][1]], init: 'zeros' });
    p.push({ name: `h${l}.ln2_g`, shape: [H], init: 'ones' }, { name: `h${l}.ln2_b`, shape: [H], init: 'zeros' });
    for (const n of ['fc', 'pj']) p.push({ name: `h${l}.${n}_W`, shape: dims[n], init: 'normal' }, { name: `h${l}.${n}_b`, shape: [dims[n][1]], init: 'zeros' });
    if (c.loraRank > 0) {
      for (const n of LORA_TARGETS) {
        p.push({ name: `h${l}.${n}_loraA`, shape: [dims[n][0], c.loraRank], init: 'lora-a' }, { name: `h${l}.${n}_loraB`, shape: [c.loraRank, dims[n][1]], init: 'zeros' });
      }
    }
  }
  p.push({ name: 'lnf_g', shape: [H], init: 'ones' }, { name: 'lnf_b', shape: [H], init: 'zeros' });
  p.push({ name: 'head_W', shape: [H, actDim], init: 'normal' }, { name: 'head_b', shape: [actDim], init: 'zeros' });
  return p;
}

/** GPT-2 initialisation: N(0, 0.02) weights, zero biases, unit LayerNorm; LoRA A ~ U(±1/√in), B = 0 (Hu et al. 2021). */
export function initDtWeights(specs: ParamSpec[], rng: Rng): Weights {
  const w: Weights = {};
  for (const s of specs) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const a = new Float32Array(n);
    if (s.init === 'normal') for (let i = 0; i < n; i++) a[i] = 0.02 * rng.normal();
    else if (s.init === 'ones') a.fill(1);
    else if (s.init === 'lora-a') {
      const bound = 1 / Math.sqrt(s.shape[0]);
      for (let i = 0; i < n; i++) a[i] = rng.uniform(-bound, bound);
    }
    w[s.name] = a;
  }
  return w;
}

/** Fold each LoRA adapter into its base kernel: W ← W + (α/r)·A·B; the result needs no adapters. */
export function mergeLora(w: Weights, c: DtConfig): Weights {
  const out: Weights = {};
  for (const [k, v] of Object.entries(w)) if (!k.includes('_lora')) out[k] = v.slice();
  if (c.loraRank <= 0) return out;
  const r = c.loraRank;
  const scale = c.loraAlpha / r;
  for (let l = 0; l < c.layers; l++) {
    for (const n of LORA_TARGETS) {
      const A = w[`h${l}.${n}_loraA`];
      const B = w[`h${l}.${n}_loraB`];
      const W = out[`h${l}.${n}_W`];
      const inDim = A.length / r;
      const outDim = B.length / r;
      for (let i = 0; i < inDim; i++) {
        for (let j = 0; j < outDim; j++) {
          let s = 0;
          for (let k = 0; k < r; k++) s += A[i * r + k] * B[k * outDim + j];
          W[i * outDim + j] += scale * s;
        }
      }
    }
  }
  return out;
}
