/**
 * Decision transformer hyper-parameters (Chen et al. 2021; reference code kzl/decision-transformer),
 * with the critic regularisation of LLM-CRDT (arXiv 2509.13934; public relative: QT) and LoRA
 * (Hu et al. 2021). Defaults are the references'; bench/check-offline.ts shrinks them to fit 2 cores.
 */
export interface DtConfig {
  /** Context length in timesteps (3K tokens). */
  K: number;
  /** Embedding width. */
  embed: number;
  layers: number;
  heads: number;
  /** MLP inner width = mlpRatio × embed (GPT-2: 4), ReLU as the reference config. */
  mlpRatio: number;
  dropout: number;
  /** Learned timestep embedding size (max episode length). */
  maxTimestep: number;
  /** AdamW. */
  lr: number;
  weightDecay: number;
  /** Linear warm-up: lr·min((t+1)/warmup, 1). */
  warmupSteps: number;
  gradClip: number;
  batch: number;
  updates: number;
  /** Returns-to-go are divided by this; 0 = the dataset's largest |return| (our choice, per task). */
  rtgScale: number;
  /** 'uniform' (∝ length, the reference), 'return' (RW) or 'advantage' (AW), Hong et al. 2023. */
  weighting: 'uniform' | 'return' | 'advantage';
  /** Critic regularisation (CRDT): 0 disables. Actor loss = η₂·MSE − η·Q₁(s,â)/mean|Q₂(s,â)|. */
  eta: number;
  eta2: number;
  /** Critic: n-step TD targets, discount, lr, EMA of the actor for â_{t+n}, target critic τ. */
  nStep: number;
  gamma: number;
  criticLr: number;
  criticHidden: number;
  emaDecay: number;
  targetTau: number;
  /** CRDT actor gradient clip (QT / LLM-CRDT: 1.0). */
  crdtGradClip: number;
  /** LoRA rank (0 = off) and α; adapters on q, k, v, o and the MLP projections. */
  loraRank: number;
  loraAlpha: number;
}

export const DT_DEFAULTS: DtConfig = {
  K: 20,
  embed: 128,
  layers: 3,
  heads: 1,
  mlpRatio: 4,
  dropout: 0.1,
  maxTimestep: 1000,
  lr: 1e-4,
  weightDecay: 1e-4,
  warmupSteps: 10_000,
  gradClip: 0.25,
  batch: 64,
  updates: 100_000,
  rtgScale: 0,
  weighting: 'uniform',
  eta: 0,
  eta2: 1,
  nStep: 5,
  gamma: 0.99,
  criticLr: 3e-4,
  criticHidden: 256,
  emaDecay: 0.995,
  targetTau: 0.005,
  crdtGradClip: 1.0,
  loraRank: 0,
  loraAlpha: 16,
};

export function dtConfig(over: Partial<DtConfig> = {}): DtConfig {
  const c = { ...DT_DEFAULTS, ...over };
  if (c.embed % c.heads !== 0) throw new RangeError(`dt: embed ${c.embed} is not divisible by heads ${c.heads}`);
  return c;
}
