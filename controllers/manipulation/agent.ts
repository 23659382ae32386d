import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { Controller, ControllerContext } from '../../src/core/controller.js';
import type { Action, EnvSpec } from '../../src/core/env.js';
import { Rng } from '../../src/core/rng.js';
import { ValidationError } from '../../src/core/errors.js';
import { taskFields, writePolicyDir } from '../policy/artifact.js';
import type { ManipCriticManifest, TaskParams } from '../policy/manifest.js';
import { checkPolicyFits, readPolicyManifest } from '../policy/read-policy.js';
import { marginOccupancy, type ManipState, type ManipulationModel } from '../../sim/manipulation/model.js';
import { initBackend } from '../backend.js';
import { motionToAction, requireModel, splitObs, type ManipObs, type Motion } from '../scripted/manipulation.js';
import { bayesianPush, pushHeuristicMap } from './bayes.js';
import { Coordinator } from './coordinator.js';
import { CRITIC_CHANNELS, FcnCritic, Rotations, type CriticWeights } from './critic.js';

/**
 * The paper's method, small (Yang et al., "A Deep Learning Approach to Grasping the Invisible"):
 * - target visible: the coordinator MLP picks push or grasp; the grasp is the argmax of Q_grasp
 *   over the target's pixels, the push the argmax of Q_push over valid push pixels within 8 cm
 *   of the target (target-oriented);
 * - target hidden: the Bayesian push search (bayes.ts);
 * - training: ε-greedy with ε = 0.5·0.998^t + 0.05, y = r + 0.5·max Q(s′) only if the heightmap
 *   changed (else y = r), Huber loss on the executed pixel, prioritised replay by |pred − y|.
 */

// Hyper-parameters (paper values where it gives them).
export const HP = {
  gamma: 0.5, // future discount (paper)
  epsilon0: 0.5, // ε = epsilon0 · epsilonDecay^t + epsilonMin (paper)
  epsilonDecay: 0.998,
  epsilonMin: 0.05,
  lr: 1e-3, // Adam on the critic (paper: SGD 1e-4 with momentum on DenseNet; ours is tiny and from scratch)
  replayPerStep: 3, // prioritised replay samples trained with each new sample
  priorityAlpha: 0.6, // sample ∝ (|pred − y| + 0.02)^α
  changedPixels: 10, // the heightmap changed when ≥ this many pixels moved by > 1 cm
  coordinatorEvery: 50, // motions between coordinator fits
  pushRegion: 0.08, // target-oriented pushes start within this distance of the target, m
  pushEdgeMargin: 0.06, // pushes must end this far inside the workspace, or the target may be pushed out, m
};

/**
 * The decision rules around the critic. The first three are the paper's method; the last is
 * ours. Each can be switched off (the ablation in `npm run check:manipulation` turns all off:
 * then every choice is an argmax of the raw Q maps over the whole workspace).
 */
export const criticRulesSchema = z.strictObject({
  /** Grasps only at the target's pixels: the paper's target-oriented grasp (Yang et al., sec. III-A: Q_grasp is read on the target mask). */
  targetGrasps: z.boolean().default(true),
  /**
   * Pushes only from pixels the push heuristic allows (an edge of a pile, on the table) within
   * HP.pushRegion of the target: the paper's target-oriented push (sec. III-A; its push heuristic
   * mask is the one the Bayesian prior uses, sec. III-C).
   */
  pushCandidates: z.boolean().default(true),
  /** Target hidden: the Bayesian push search, prior = push heuristic ⊙ Q_push, updated by the last 3 pushes (sec. III-C). */
  bayesianSearch: z.boolean().default(true),
  /** Ours, not the paper's: a motion that left the heightmap unchanged is followed by the other primitive. */
  stuckSwitch: z.boolean().default(true),
});
export type CriticRules = z.infer<typeof criticRulesSchema>;

/** The rules off: the ablation row. */
export const NO_RULES: CriticRules = { targetGrasps: false, pushCandidates: false, bayesianSearch: false, stuckSwitch: false };

interface Decision {
  action: Action;
  motion: Motion;
  primitive: 0 | 1;
  rotation: number;
  pixel: number;
  /** Coordinator features, when the target was visible. */
  features: number[] | null;
}

export class CriticAgent implements Controller {
  readonly kind = 'manip-critic';
  readonly critic: FcnCritic;
  readonly coordinator: Coordinator;
  readonly rot: Rotations;
  readonly model: ManipulationModel;
  epsilon = 0;
  coordinatorFitted = false;
  private rng: Rng;
  private recentPushEnds: [number, number][] = [];
  private consecutiveFails = 0;
  private last: Decision | null = null;
  /** Heightmap before the last motion, to see whether it changed anything. */
  private lastHeight: Float32Array | null = null;
  /** The last motion left the scene unchanged: do not repeat it (a deterministic policy would loop). */
  private stuck = false;
  private readonly input: Float32Array;
  /** Target area when fully seen, px (for the normalised-area feature). */
  private readonly fullTargetPx: number;

  readonly rules: CriticRules;

  constructor(
    readonly spec: EnvSpec,
    context: ControllerContext,
    rules: Partial<CriticRules> = {},
  ) {
    this.model = requireModel(context, spec);
    const parsed = criticRulesSchema.safeParse(rules);
    if (!parsed.success) throw new Error(`manipulation critic rules: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
    this.rules = parsed.data;
    const g = this.model.geometry;
    this.rng = new Rng(context.seed);
    this.critic = new FcnCritic(g.P, this.rng.fork(), HP.lr);
    this.coordinator = new Coordinator(this.rng.fork());
    this.rot = new Rotations(g.P, g.R);
    this.input = new Float32Array(g.R * g.P * g.P * CRITIC_CHANNELS);
    const t = this.model.scene.target;
    const area = t.shape === 'box' ? t.size[0] * t.size[1] : Math.PI * t.size[0] ** 2;
    this.fullTargetPx = area / (g.res * g.res);
  }

  reset(): void {
    this.recentPushEnds = [];
    this.consecutiveFails = 0;
    this.last = null;
    this.lastHeight = null;
    this.stuck = false;
  }

  /** Q maps in the world frame: q[primitive][rotation][pixel] (−1 where the rotation leaves the map). */
  qMaps(obs: Float32Array): Float32Array[][] {
    const g = this.model.geometry;
    const o = splitObs(obs, g.P);
    const n = g.P * g.P;
    for (let k = 0; k < g.R; k++) this.rot.rotateInput(o.height, o.mask, k, this.input, k * n * CRITIC_CHANNELS);
    const out = this.critic.predict(this.input, g.R);
    const q: Float32Array[][] = [[], []];
    for (let k = 0; k < g.R; k++) {
      const inv = this.rot.toWorld[k];
      const push = new Float32Array(n);
      const grasp = new Float32Array(n);
      for (let p = 0; p < n; p++) {
        const rp = inv[p];
        if (rp < 0) {
          push[p] = -1;
          grasp[p] = -1;
        } else {
          push[p] = out[(k * n + rp) * 2];
          grasp[p] = out[(k * n + rp) * 2 + 1];
        }
      }
      q[0].push(push);
      q[1].push(grasp);
    }
    return q;
  }

  act(obs: Float32Array): Action {
    return this.decide(obs).action;
  }

  decide(obs: Float32Array, q: Float32Array[][] = this.qMaps(obs)): Decision {
    const g = this.model.geometry;
    const o = splitObs(obs, g.P);
    // The last grasp failed if the target is still in view (or still hidden).
    if (this.last?.primitive === 1) this.consecutiveFails++;
    this.stuck = this.lastHeight !== null && !heightmapChanged(this.lastHeight, o.height, g.P * g.P);
    this.lastHeight = Float32Array.from(o.height);
    const d = o.targetPixels > 0 ? this.decideVisible(o, q) : this.decideHidden(o, q);
    if (d.primitive === 0) {
      const [x, y] = [d.motion.x, d.motion.y];
      const L = this.model.scene.gripper.pushLength;
      this.recentPushEnds.push([x + L * Math.cos(d.motion.theta), y + L * Math.sin(d.motion.theta)]);
      if (this.recentPushEnds.length > 3) this.recentPushEnds.shift();
    }
    this.last = d;
    return d;
  }

  private make(primitive: 0 | 1, rotation: number, pixel: number, features: number[] | null): Decision {
    const g = this.model.geometry;
    const [x, y] = g.pixelToWorld(Math.floor(pixel / g.P), pixel % g.P);
    const motion: Motion = { primitive: primitive === 0 ? 'push' : 'grasp', x, y, theta: g.rotationAngle(rotation) };
    return { action: motionToAction(this.model, motion), motion, primitive, rotation, pixel, features };
  }

  /** argmax over rotations and `pixels`; `allowed(k, p)` filters pairs (e.g. pushes that would leave the workspace). */
  private argmax(q: Float32Array[], pixels: number[], allowed?: (k: number, p: number) => boolean): { k: number; p: number; v: number } {
    let best = { k: 0, p: pixels[0] ?? 0, v: -Infinity };
    for (let k = 0; k < q.length; k++) for (const p of pixels) if (q[k][p] > best.v && (!allowed || allowed(k, p))) best = { k, p, v: q[k][p] };
    return best;
  }

  /** A push from pixel p along rotation k ends at least HP.pushEdgeMargin inside the workspace. */
  private pushStaysInside = (k: number, p: number): boolean => {
    const g = this.model.geometry;
    const [x, y] = g.pixelToWorld(Math.floor(p / g.P), p % g.P);
    const L = this.model.scene.gripper.pushLength;
    const ex = x + L * Math.cos(g.rotationAngle(k));
    const ey = y + L * Math.sin(g.rotationAngle(k));
    const m = HP.pushEdgeMargin;
    return ex >= g.x0 + m && ey >= g.y0 + m && ex <= g.x0 + g.size - m && ey <= g.y0 + g.size - m;
  };

  private decideVisible(o: ManipObs, q: Float32Array[][]): Decision {
    const g = this.model.geometry;
    const n = g.P * g.P;
    const targetPx: number[] = [];
    let cr = 0;
    let cc = 0;
    for (let p = 0; p < n; p++) {
      if (o.mask[p] > 0.5) {
        targetPx.push(p);
        cr += Math.floor(p / g.P);
        cc += p % g.P;
      }
    }
    cr /= targetPx.length;
    cc /= targetPx.length;
    const all = Array.from({ length: n }, (_, p) => p);
    const pushPx: number[] = [];
    if (this.rules.pushCandidates) {
      const heur = pushHeuristicMap(o.height, g.P, g.res);
      const reach = HP.pushRegion / g.res;
      for (let p = 0; p < n; p++) if (heur[p] && Math.hypot(Math.floor(p / g.P) - cr, (p % g.P) - cc) <= reach) pushPx.push(p);
    } else pushPx.push(...all);
    const graspPx = this.rules.targetGrasps ? targetPx : all;
    const bg = this.argmax(q[1], graspPx);
    const bp = pushPx.length ? this.argmax(q[0], pushPx, this.rules.pushCandidates ? this.pushStaysInside : undefined) : { k: 0, p: 0, v: -Infinity };
    const state = { targetMask: Uint8Array.from(o.mask, (v) => (v > 0.5 ? 1 : 0)), heightmap: o.height, targetPixels: targetPx.length } as unknown as ManipState;
    const margin = marginOccupancy(state, g.P, this.model.scene.reward.marginWidth / g.res, this.model.scene.reward.occupiedHeight);
    const features = [
      Number.isFinite(bp.v) ? bp.v : 0,
      bg.v,
      margin,
      Math.min(1.5, targetPx.length / this.fullTargetPx),
      Math.min(1, this.consecutiveFails / 5),
    ];
    if (this.rng.next() < this.epsilon) {
      // Explore: a random primitive at a random candidate pixel and rotation.
      if (pushPx.length && this.rng.next() < 0.5) return this.make(0, this.rng.int(g.R), pushPx[this.rng.int(pushPx.length)], features);
      return this.make(1, this.rng.int(g.R), graspPx[this.rng.int(graspPx.length)], features);
    }
    let grasp: boolean;
    if (!pushPx.length || !Number.isFinite(bp.v)) grasp = true;
    else if (this.rules.stuckSwitch && this.stuck && this.last) grasp = this.last.primitive === 0; // nothing moved: switch primitive
    else if (this.coordinatorFitted) grasp = this.coordinator.pGrasp(features) >= 0.5;
    else grasp = bg.v >= bp.v;
    if (grasp) this.consecutiveFails = this.last?.primitive === 1 ? this.consecutiveFails : 0;
    return grasp ? this.make(1, bg.k, bg.p, features) : this.make(0, bp.k, bp.p, features);
  }

  private decideHidden(o: ManipObs, q: Float32Array[][]): Decision {
    const g = this.model.geometry;
    this.consecutiveFails = 0;
    if (this.rng.next() < this.epsilon) {
      const heur = pushHeuristicMap(o.height, g.P, g.res);
      const px: number[] = [];
      for (let p = 0; p < g.P * g.P; p++) if (heur[p]) px.push(p);
      if (px.length) return this.make(0, this.rng.int(g.R), px[this.rng.int(px.length)], null);
    }
    if (!this.rules.bayesianSearch) {
      // No search: the best of both raw Q maps over the whole workspace.
      const all = Array.from({ length: g.P * g.P }, (_, p) => p);
      const bp = this.argmax(q[0], all);
      const bg = this.argmax(q[1], all);
      return bg.v > bp.v ? this.make(1, bg.k, bg.p, null) : this.make(0, bp.k, bp.p, null);
    }
    const c = bayesianPush(o.height, q[0], this.recentPushEnds, g, this.model.scene.gripper.pushLength, 0.05, HP.pushEdgeMargin);
    return this.make(0, c.rotation, c.pixel, null);
  }

  /** The critic input of one executed action (rotated by its rotation) and the flat output index it trains. */
  trainingSample(obs: Float32Array, d: Decision): { input: Float32Array; picked: number } | null {
    const g = this.model.geometry;
    const o = splitObs(obs, g.P);
    const rp = this.rot.toWorld[d.rotation][d.pixel];
    if (rp < 0) return null;
    const input = new Float32Array(g.P * g.P * CRITIC_CHANNELS);
    this.rot.rotateInput(o.height, o.mask, d.rotation, input, 0);
    return { input, picked: rp * 2 + d.primitive };
  }

  /** Write the agent as an `embody.policy/2` artifact (runtime `manip-critic`), atomically. */
  async save(dir: string, extra: Record<string, unknown> = {}, meta: { task?: TaskParams | null; runId?: string | null } = {}): Promise<ManipCriticManifest> {
    const weights = JSON.stringify({ critic: this.critic.getWeights(), coordinator: this.coordinator.getWeights() });
    const g = this.model.geometry;
    const manifest = await writePolicyDir(
      dir,
      {
        runtime: 'manip-critic',
        kind: this.kind,
        ...taskFields(this.spec, meta.task),
        trainingRunId: meta.runId ?? null,
        manipCritic: { weights: 'critic.json', P: g.P, R: g.R, coordinatorFitted: this.coordinatorFitted },
        ...(Object.keys(extra).length ? { extra } : {}),
      },
      { 'critic.json': weights },
    );
    return manifest as ManipCriticManifest;
  }

  dispose(): void {
    this.critic.dispose();
    this.coordinator.dispose();
  }
}

export async function createCriticAgent(spec: EnvSpec, context: ControllerContext, rules: Partial<CriticRules> = {}): Promise<CriticAgent> {
  await initBackend();
  return new CriticAgent(spec, context, rules);
}

/** The agent of a `manip-critic` artifact (policy/read-policy.ts checked its files and spaces). */
export async function manipCriticController(dir: string, manifest: ManipCriticManifest, spec: EnvSpec, context: ControllerContext): Promise<CriticAgent> {
  const agent = await createCriticAgent(spec, context, rulesFromOptions(context.options));
  const { P, R } = manifest.manipCritic;
  const g = agent.model.geometry;
  if (P !== g.P || R !== g.R) {
    agent.dispose();
    throw new ValidationError(`${dir}: trained for ${P} px × ${R} rotations, the scene has ${g.P} × ${g.R}`);
  }
  const file = path.join(dir, manifest.manipCritic.weights);
  const saved = JSON.parse(readFileSync(file, 'utf8')) as { critic?: CriticWeights; coordinator?: CriticWeights };
  if (!saved.critic || !saved.coordinator) throw new ValidationError(`${file}: needs "critic" and "coordinator" weights`);
  agent.critic.setWeights(saved.critic);
  agent.coordinator.setWeights(saved.coordinator);
  agent.coordinatorFitted = manifest.manipCritic.coordinatorFitted;
  agent.epsilon = 0;
  return agent;
}

/**
 * The rules as controller options (`--controller-opt targetGrasps=false`): how they reach an
 * agent loaded through the one policy loader.
 */
export function rulesFromOptions(options: Record<string, string> | undefined): Partial<CriticRules> {
  const out: Partial<CriticRules> = {};
  for (const key of Object.keys(criticRulesSchema.shape) as (keyof CriticRules)[]) {
    const v = options?.[key];
    if (v === undefined) continue;
    if (v !== 'true' && v !== 'false') throw new ValidationError(`manipulation critic option ${key}=${v}: expected true or false`);
    out[key] = v === 'true';
  }
  return out;
}

/**
 * Load a saved critic agent directory (v2, or legacy agent.json) for `spec`, checked as the one
 * policy loader checks it (read-policy.ts: schema, sha256, task id, shapes).
 */
export async function loadCriticAgent(dir: string, spec: EnvSpec, context: ControllerContext, rules: Partial<CriticRules> = {}): Promise<CriticAgent> {
  const options = { ...context.options, ...Object.fromEntries(Object.entries(rules).map(([k, v]) => [k, String(v)])) };
  const { manifest } = await readPolicyManifest(dir, spec);
  checkPolicyFits(dir, manifest, spec);
  if (manifest.runtime !== 'manip-critic') throw new ValidationError(`${dir}: not a manipulation critic artifact`);
  return manipCriticController(dir, manifest, spec, { ...context, options });
}

function heightmapChanged(a: ArrayLike<number>, b: ArrayLike<number>, n: number): boolean {
  let moved = 0;
  for (let i = 0; i < n; i++) if (Math.abs(a[i] - b[i]) > 0.01) moved++;
  return moved >= HP.changedPixels;
}

/** One point of the training curve: means over the motions since the previous point. */
export interface TrainingPoint {
  motions: number;
  /** Huber loss of the newly executed sample (before its update). */
  loss: number;
  /** |pred − y| of the newly executed sample (its replay priority). */
  absError: number;
  /** Success rate of the last 20 finished training episodes (ε-greedy, so below greedy). */
  success: number;
  epsilon: number;
  episodes: number;
  seconds: number;
}

export interface TrainingReport {
  scene: string;
  motions: number;
  episodes: number;
  trainSuccessRate: number;
  coordinatorLabels: number;
  seconds: number;
  curve: TrainingPoint[];
}

/**
 * Train the critic and the coordinator online for `motions` motions on one scene, then save the
 * agent to `saveDir`. Bounded by motions (not reward): see the README for what that buys.
 */
export async function trainCritic(opts: {
  sceneName: string;
  seed: number;
  motions: number;
  saveDir: string;
  /** Motions between two points of the training curve. */
  curveEvery?: number;
  /** Wall-clock budget, s: training stops (and saves) at the first motion past it. */
  maxSeconds?: number;
  log?: (line: string) => void;
}): Promise<TrainingReport> {
  const { createEnv, loadScene } = await import('../../sim/registry.js');
  const sceneConfig = loadScene(opts.sceneName).scene;
  const env = await createEnv(sceneConfig, { seed: opts.seed });
  const agent = await createCriticAgent(env.spec, { seed: opts.seed, model: env.model });
  const g = agent.model.geometry;
  const n = g.P * g.P;
  const rng = new Rng(opts.seed + 17);
  const replay: { input: Float32Array; picked: number; label: number; err: number }[] = [];
  const coordX: number[][] = [];
  const coordY: number[] = [];
  const t0 = performance.now();
  let obs = env.reset({ seed: opts.seed * 100_000 }).obs;
  agent.reset();
  let q = agent.qMaps(obs);
  let episodes = 0;
  let successes = 0;
  let recentSucc: number[] = [];
  let lossSum = 0;
  let huberSum = 0;
  let samples = 0;
  const curve: TrainingPoint[] = [];
  const every = opts.curveEvery ?? 25;
  let trained = 0;
  for (let t = 0; t < opts.motions; t++) {
    if (opts.maxSeconds !== undefined && (performance.now() - t0) / 1000 > opts.maxSeconds) break;
    trained = t + 1;
    agent.epsilon = HP.epsilon0 * Math.pow(HP.epsilonDecay, t) + HP.epsilonMin;
    const d = agent.decide(obs, q);
    const r = env.step(d.action);
    const done = r.terminated || r.truncated;
    const changed = heightmapChanged(obs, r.obs, n);
    const qNext = agent.qMaps(r.obs);
    let maxNext = -Infinity;
    for (const byPrim of qNext) for (const m of byPrim) for (let p = 0; p < n; p++) if (m[p] > maxNext) maxNext = m[p];
    // y = r + γ·max Q(s′) only if the scene changed (Yang et al.), and never past a termination.
    const label = r.reward + (changed && !r.terminated ? HP.gamma * maxNext : 0);
    const sample = agent.trainingSample(obs, d);
    if (sample) {
      // Prioritised replay: sample ∝ (|pred − y| + 0.02)^α among the stored transitions.
      const batch = [{ ...sample, label, err: 1 }];
      if (replay.length > 8) {
        const w = replay.map((e) => Math.pow(e.err + 0.02, HP.priorityAlpha));
        const total = w.reduce((a, b) => a + b, 0);
        for (let j = 0; j < HP.replayPerStep; j++) {
          let u = rng.next() * total;
          let i = 0;
          while (i < w.length - 1 && u > w[i]) u -= w[i++];
          batch.push(replay[i]);
        }
      }
      const input = new Float32Array(batch.length * n * CRITIC_CHANNELS);
      batch.forEach((b, i) => input.set(b.input, i * n * CRITIC_CHANNELS));
      const preds = agent.critic.train(input, batch.length, Int32Array.from(batch, (b) => b.picked), Float32Array.from(batch, (b) => b.label));
      batch.forEach((b, i) => (b.err = Math.abs(preds[i] - b.label)));
      lossSum += batch[0].err;
      huberSum += batch[0].err <= 1 ? 0.5 * batch[0].err ** 2 : batch[0].err - 0.5;
      samples++;
      replay.push(batch[0]);
      if (replay.length > 3000) replay.shift();
    }
    // Coordinator labels: a grasp from a visible state is labelled by its outcome; a push that
    // freed the margin says "push was right here".
    if (d.features) {
      if (d.primitive === 1) {
        coordX.push(d.features);
        coordY.push(r.info.endReason === 'target-grasped' ? 1 : 0);
      } else if (r.reward >= 0.5) {
        coordX.push(d.features);
        coordY.push(0);
      }
    }
    if ((t + 1) % HP.coordinatorEvery === 0 && coordY.includes(0) && coordY.includes(1) && coordY.length >= 10) {
      agent.coordinator.fit(coordX, coordY, 60);
      agent.coordinatorFitted = true;
    }
    if (done) {
      const m = (r.info.episode as { metrics: Record<string, number> }).metrics;
      episodes++;
      successes += m.success;
      recentSucc.push(m.success);
      if (recentSucc.length > 20) recentSucc = recentSucc.slice(-20);
      obs = env.reset().obs;
      agent.reset();
      q = agent.qMaps(obs);
    } else {
      obs = r.obs;
      q = qNext;
    }
    const last = t + 1 === opts.motions || (opts.maxSeconds !== undefined && (performance.now() - t0) / 1000 > opts.maxSeconds);
    if ((t + 1) % every === 0 || last) {
      const recent = recentSucc.reduce((a, b) => a + b, 0) / Math.max(1, recentSucc.length);
      const point: TrainingPoint = {
        motions: t + 1,
        loss: huberSum / Math.max(1, samples),
        absError: lossSum / Math.max(1, samples),
        success: recent,
        epsilon: agent.epsilon,
        episodes,
        seconds: (performance.now() - t0) / 1000,
      };
      curve.push(point);
      opts.log?.(
        `motion ${t + 1}/${opts.motions} ε=${point.epsilon.toFixed(3)} episodes=${episodes} success(last 20)=${(100 * recent).toFixed(0)}% huber=${point.loss.toFixed(4)} |err|=${point.absError.toFixed(3)} coordinator labels=${coordY.length} ${point.seconds.toFixed(0)}s`,
      );
      lossSum = 0;
      huberSum = 0;
      samples = 0;
    }
  }
  const report: TrainingReport = {
    scene: opts.sceneName,
    motions: trained,
    episodes,
    trainSuccessRate: episodes ? successes / episodes : 0,
    coordinatorLabels: coordY.length,
    seconds: (performance.now() - t0) / 1000,
    curve,
  };
  await agent.save(opts.saveDir, { training: report }, { task: env.taskParams(sceneConfig) });
  agent.dispose();
  env.close();
  return report;
}
