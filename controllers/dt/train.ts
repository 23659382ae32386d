import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src/core/rng.js';
import type { OfflineDataset } from '../../src/data/dataset.js';
import { episodeReturn } from '../../src/data/dataset.js';
import { Adam, initWeights, Mlp } from '../nn/index.js';
import { mlpSpec } from '../policy/network.js';
import { dtConfig, type DtConfig } from './config.js';
import { criticRewardScale, pretrainCritic, TwinCritic, type CriticCurvePoint, type PretrainedCritic } from './critic.js';
import type { DtRuntimeModel } from './infer.js';
import { DtNet, maskedMse } from './model.js';
import { SegmentSampler, type SegmentBatch } from './data.js';
import { dtParamSpecs, initDtWeights, mergeLora, type Weights } from './weights.js';

/**
 * Offline training of the decision transformer (Chen et al. 2021) and its critic-regularised form
 * (LLM-CRDT, arXiv 2509.13934; QT code): the update reads in the paper's order —
 *   critic: y = Σ_{i<n} γ^i r_{t+i} + γ^n (1−d) min Q′(s_{t+n}, â_{t+n}), â from the EMA actor;
 *   actor:  η₂·MSE(â, a) − η·Q₁(s, â)/mean|Q₂(s, â)|, Q₁/Q₂ swapped at random;
 *   EMA actor and target critics follow.
 * With η = 0 it is the plain DT. LoRA fine-tuning freezes every base weight (Hu et al. 2021).
 */
export interface TrainedDt extends DtRuntimeModel {
  /** The weights including LoRA adapters (weights holds them merged). */
  rawWeights: Weights;
  targetReturn: number;
  stats: {
    updates: number;
    seconds: number;
    finalLoss: number;
    trainableParams: number;
    totalParams: number;
    trainableShare: number;
    /** CRDT: the critic's TD-loss curve (pretraining, then joint), its update count and pretraining seconds. */
    critic?: { updates: number; pretrainSeconds: number; curve: CriticCurvePoint[]; actor: ActorCurvePoint[] };
  };
}

/** CRDT actor terms over a log window: MSE(â, a) and the normalised Q₁(s, â)/mean|Q₂(s, â)| that η weighs. */
export interface ActorCurvePoint {
  update: number;
  mse: number;
  qNorm: number;
}

export interface TrainOptions {
  seed: number;
  /** Start from these weights (pretraining); keys absent here are initialised fresh. */
  init?: Weights;
  /** LoRA fine-tuning: only adapters (and `alsoTrain` names) move. */
  lora?: boolean;
  /** With LoRA: parameters also trained, e.g. the state embedding when the observation size changed. */
  alsoTrain?: (name: string) => boolean;
  onLog?: (update: number, figures: Record<string, number>) => void;
  logEvery?: number;
  /** CRDT: a critic already pretrained on this dataset with these critic settings (else trainDt pretrains one). */
  critic?: PretrainedCritic;
}

function toTensors(b: SegmentBatch, S: number, A: number) {
  return {
    states: tf.tensor3d(b.states, [b.B, b.K, S]),
    actions: tf.tensor3d(b.actions, [b.B, b.K, A]),
    rtg: tf.tensor3d(b.rtg, [b.B, b.K, 1]),
    timesteps: tf.tensor2d(b.timesteps, [b.B, b.K], 'int32'),
    mask: tf.tensor2d(b.mask, [b.B, b.K]),
  };
}

export async function trainDt(ds: OfflineDataset, over: Partial<DtConfig>, opts: TrainOptions): Promise<TrainedDt> {
  const c = dtConfig(over);
  const S = ds.meta.obsDim;
  const A = ds.meta.actDim;
  const rng = new Rng(opts.seed);
  const specs = dtParamSpecs(c, S, A);
  const fresh = initDtWeights(specs, rng.fork());
  const start: Weights = {};
  for (const s of specs) {
    const w = opts.init?.[s.name];
    start[s.name] = w && w.length === fresh[s.name].length ? w : fresh[s.name];
  }
  const trainable = opts.lora ? (n: string) => n.includes('_lora') || (opts.alsoTrain?.(n) ?? false) : undefined;
  const net = new DtNet(c, S, A, start, trainable);
  const vars = net.trainableVars;
  const trainableParams = vars.reduce((n, v) => n + v.size, 0);
  const adam = new Adam(vars, { lr: c.lr, weightDecay: c.weightDecay, maxGradNorm: c.eta > 0 ? c.crdtGradClip : c.gradClip });
  const sampler = new SegmentSampler(ds, c.K, c.weighting, rng.fork(), { rtgScale: c.rtgScale });
  const dropRng = rng.fork();

  // CRDT parts: the twin critic (pretrained on the dataset, critic.ts) and an EMA copy of the actor.
  const crdt = c.eta > 0;
  let critic: TwinCritic | null = null;
  let pre: PretrainedCritic | null = null;
  let ema: DtNet | null = null;
  const rewardScale = criticRewardScale(sampler.rtgScale);
  const criticCurve: CriticCurvePoint[] = [];
  const actorCurve: ActorCurvePoint[] = [];
  const actorWindow = { n: 0, mse: 0, qNorm: 0 };
  if (crdt) {
    pre = opts.critic ?? pretrainCritic(ds, c, opts.seed, opts.logEvery ?? 100);
    critic = new TwinCritic(S, A, c, pre.weights);
    criticCurve.push(...pre.curve);
    ema = new DtNet(c, S, A, start, () => false);
  }

  const t0 = performance.now();
  let lastLoss = NaN;
  const logEvery = opts.logEvery ?? 100;
  for (let u = 0; u < c.updates; u++) {
    adam.lr = c.lr * Math.min((u + 1) / c.warmupSteps, 1);
    const batch = sampler.sample(c.batch, crdt ? { nStep: c.nStep, gamma: c.gamma, rewardScale } : undefined);
    const t = toTensors(batch, S, A);
    const figures: Record<string, number> = {};
    if (crdt && ema && critic) {
      // Critic step, a′ at s_{t+n} from the EMA actor.
      const N = batch.B * batch.K;
      const states2d = tf.reshape(t.states, [N, S]) as tf.Tensor2D;
      const aData = tf.reshape(t.actions, [N, A]) as tf.Tensor2D;
      const aEma = tf.tidy(() => ema!.forward(t));
      figures.criticLoss = critic.update(batch, states2d, aData, aEma);
      tf.dispose([states2d, aData, aEma]);
    }
    const swap = rng.next() < 0.5;
    const { value, grads } = tf.variableGrads(() => {
      const pred = net.forward(t, dropRng);
      const mse = maskedMse(pred, t.actions, t.mask);
      if (!crdt) return mse;
      const N = batch.B * batch.K;
      const x = tf.concat([tf.reshape(t.states, [N, S]), pred], 1) as tf.Tensor2D;
      const [qa, qb] = swap ? [critic!.q[1], critic!.q[0]] : [critic!.q[0], critic!.q[1]];
      const m = tf.reshape(t.mask, [N, 1]);
      const msum = tf.sum(m);
      const q1 = tf.div(tf.sum(tf.mul(qa.apply(x), m)), msum);
      // mean|Q₂(s, â)| is a constant normaliser (no gradient): read it out of the tape.
      const denom = tf.scalar((tf.div(tf.sum(tf.mul(tf.abs(qb.apply(x)), m)), msum).dataSync()[0] as number) + 1e-6);
      const qNorm = tf.div(q1, denom);
      actorWindow.mse += mse.dataSync()[0] as number;
      actorWindow.qNorm += qNorm.dataSync()[0] as number;
      actorWindow.n++;
      return tf.sub(tf.mul(mse, c.eta2), tf.mul(qNorm, c.eta)) as tf.Scalar;
    }, vars);
    const gradNorm = adam.step(vars.map((v) => grads[v.name]));
    lastLoss = value.dataSync()[0];
    tf.dispose([value, ...Object.values(grads), ...Object.values(t)]);
    if (crdt && ema && critic) {
      emaUpdate(ema, net, c.emaDecay);
      if ((u + 1) % logEvery === 0 || u === c.updates - 1) {
        criticCurve.push(critic.takeWindow(c.criticPretrain + u, 'joint'));
        actorCurve.push({ update: u, mse: actorWindow.mse / actorWindow.n, qNorm: actorWindow.qNorm / actorWindow.n });
        Object.assign(actorWindow, { n: 0, mse: 0, qNorm: 0 });
      }
    }
    if (opts.onLog && (u % logEvery === 0 || u === c.updates - 1)) opts.onLog(u, { loss: lastLoss, gradNorm, lr: adam.lr, ...figures });
  }
  const seconds = (performance.now() - t0) / 1000;
  const rawWeights = net.getWeights();
  const totalParams = net.numParams;
  net.dispose();
  ema?.dispose();
  critic?.dispose();
  const merged = mergeLora(rawWeights, c);
  const targetReturn = Math.max(...ds.episodes.map(episodeReturn));
  return {
    config: { ...c, loraRank: 0 },
    obsDim: S,
    actDim: A,
    weights: merged,
    rawWeights,
    obsMean: sampler.obsMean,
    obsStd: sampler.obsStd,
    rtgScale: sampler.rtgScale,
    targetReturn,
    stats: {
      updates: c.updates,
      seconds,
      finalLoss: lastLoss,
      trainableParams,
      totalParams,
      trainableShare: trainableParams / totalParams,
      ...(pre ? { critic: { updates: c.criticPretrain + c.updates, pretrainSeconds: pre.seconds, curve: criticCurve, actor: actorCurve } } : {}),
    },
  };
}

/** θ_ema ← d·θ_ema + (1−d)·θ (LLM-CRDT: d = 0.995). */
function emaUpdate(ema: DtNet, net: DtNet, decay: number): void {
  for (const s of net.specs) {
    const src = net.vars[s.name].dataSync() as Float32Array;
    const dst = ema.vars[s.name].dataSync() as Float32Array;
    const out = new Float32Array(dst.length);
    for (let i = 0; i < out.length; i++) out[i] = decay * dst[i] + (1 - decay) * src[i];
    const tt = tf.tensor(out, s.shape);
    ema.vars[s.name].assign(tt);
    tt.dispose();
  }
}

/** Behaviour cloning baseline: an MLP s → tanh(a), MSE (Hong et al. 2023 compare against BC on the top 10%). */
export interface TrainedBc {
  net: { spec: ReturnType<typeof mlpSpec>; weights: Float32Array[] };
  obsMean: Float32Array;
  obsStd: Float32Array;
  seconds: number;
}

export async function trainBc(ds: OfflineDataset, opts: { seed: number; updates: number; batch?: number; hidden?: number; lr?: number }): Promise<TrainedBc> {
  const S = ds.meta.obsDim;
  const A = ds.meta.actDim;
  const rng = new Rng(opts.seed);
  const sampler = new SegmentSampler(ds, 1, 'uniform', rng.fork());
  const spec = mlpSpec({ inputSize: S, hidden: [opts.hidden ?? 256, opts.hidden ?? 256], outputSize: A });
  const mlp = new Mlp(spec, initWeights(spec, rng.fork()), 'bc');
  const adam = new Adam(mlp.vars, { lr: opts.lr ?? 1e-3 });
  const B = opts.batch ?? 256;
  const t0 = performance.now();
  for (let u = 0; u < opts.updates; u++) {
    const b = sampler.sample(B);
    const x = tf.tensor2d(b.states, [B, S]);
    const y = tf.tensor2d(b.actions, [B, A]);
    const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(tf.sub(tf.tanh(mlp.apply(x)), y))) as tf.Scalar, mlp.vars);
    adam.step(mlp.vars.map((v) => grads[v.name]));
    tf.dispose([value, x, y, ...Object.values(grads)]);
  }
  const out = { net: { spec, weights: mlp.getWeights() }, obsMean: sampler.obsMean, obsStd: sampler.obsStd, seconds: (performance.now() - t0) / 1000 };
  mlp.dispose();
  return out;
}
