import type { Controller, ControllerContext } from '../../src/core/controller.js';
import type { Action, EnvSpec } from '../../src/core/env.js';
import { Rng } from '../../src/core/rng.js';
import { taskFields, writePolicyDir } from '../policy/artifact.js';
import type { ManipCriticManifest, TaskParams } from '../policy/manifest.js';
import { marginOccupancy, type ManipState, type ManipulationModel } from '../../sim/manipulation/model.js';
import { initBackend } from '../backend.js';
import { motionToAction, requireModel, splitObs, type ManipObs, type Motion } from '../scripted/manipulation.js';
import { bayesianPush } from './bayes.js';
import { allPixels, argmaxOver, pushCandidatePixels, pushEndsInside, pushHeuristicPixels, targetPixels } from './candidates.js';
import { Coordinator } from './coordinator.js';
import { CRITIC_CHANNELS, FcnCritic, Rotations } from './critic.js';
import { heightmapChanged, HP } from './hyperparameters.js';
import { parseRules, type CriticRules } from './rules.js';

/**
 * The critic agent's acting, the paper's method, small (Yang et al., "A Deep Learning Approach
 * to Grasping the Invisible"):
 * - target visible: the larger of max Q_grasp and max Q_push picks push or grasp (VPG's rule), or
 *   with the `coordinator` rule the coordinator MLP; the grasp is the argmax of Q_grasp
 *   over the target's pixels, the push the argmax of Q_push over valid push pixels within 8 cm
 *   of the target (target-oriented; candidates.ts);
 * - target hidden: the Bayesian push search (bayes.ts).
 * Its rules are rules.ts, its hyper-parameters hyperparameters.ts, its training loop
 * train-critic.ts, its loading from a policy directory load-critic.ts.
 */

export interface Decision {
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
  /**
   * Recording the coordinator's labels (train-critic.ts `fitCoordinator`): while the target is
   * seen, push or grasp is a fair coin, each primitive still the critic's argmax.
   */
  coinFlipPrimitive = false;
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
  /** testTimeUpdates: the observation before the last motion, the weights to restore on reset, and whether they changed. */
  private lastObs: Float32Array | null = null;
  private loadedWeights: ReturnType<FcnCritic['getWeights']> | null = null;
  private updatedSinceReset = false;
  /** Target area when fully seen, px (for the normalised-area feature). */
  private readonly fullTargetPx: number;
  /** The push-end rule of `pushCandidates`, bound to this scene's geometry and push length. */
  private readonly pushEndsInside: (k: number, p: number) => boolean;

  readonly rules: CriticRules;

  constructor(
    readonly spec: EnvSpec,
    context: ControllerContext,
    rules: Partial<CriticRules> = {},
  ) {
    this.model = requireModel(context, spec);
    this.rules = parseRules(rules);
    const g = this.model.geometry;
    this.rng = new Rng(context.seed);
    this.critic = new FcnCritic(g.P, this.rng.fork(), HP.lr);
    this.coordinator = new Coordinator(this.rng.fork());
    this.rot = new Rotations(g.P, g.R);
    this.input = new Float32Array(g.R * g.P * g.P * CRITIC_CHANNELS);
    const t = this.model.scene.target;
    const area = t.shape === 'box' ? t.size[0] * t.size[1] : Math.PI * t.size[0] ** 2;
    this.fullTargetPx = area / (g.res * g.res);
    const pushLength = this.model.scene.gripper.pushLength;
    this.pushEndsInside = (k, p) => pushEndsInside(g, pushLength, k, p);
  }

  reset(): void {
    // testTimeUpdates: each episode starts from the loaded weights (the paper reloads its checkpoint per test case).
    if (this.updatedSinceReset && this.loadedWeights) this.critic.setWeights(this.loadedWeights);
    this.updatedSinceReset = false;
    this.lastObs = null;
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
    if (this.rules.testTimeUpdates) this.learnFromLastMotion(obs);
    const d = this.decide(obs);
    if (this.rules.testTimeUpdates) this.lastObs = Float32Array.from(obs);
    return d.action;
  }

  /**
   * testTimeUpdates: one Huber step on the last executed motion, labelled as in training
   * (y = r + γ·max Q(s′) if the heightmap changed, else r; train-critic.ts), with r from the task's
   * reward on the two observations. A motion that failed thus loses value, and the next argmax moves on.
   */
  private learnFromLastMotion(obs: Float32Array): void {
    if (!this.last || !this.lastObs) return;
    const g = this.model.geometry;
    const n = g.P * g.P;
    const asState = (o: ManipObs) =>
      ({ heightmap: o.height, targetMask: Uint8Array.from(o.mask, (v) => (v > 0.5 ? 1 : 0)), targetPixels: o.targetPixels, targetGrasped: false }) as unknown as ManipState;
    const prev = splitObs(this.lastObs, g.P);
    const next = splitObs(obs, g.P);
    // Still acting, so a grasp did not take the target: the reward is the failed grasp's.
    const r = this.model.reward(asState(prev), asState(next), this.last.motion);
    let maxNext = -Infinity;
    if (heightmapChanged(prev.height, next.height, n)) for (const byPrim of this.qMaps(obs)) for (const m of byPrim) for (let p = 0; p < n; p++) maxNext = Math.max(maxNext, m[p]);
    const label = r + (Number.isFinite(maxNext) ? HP.gamma * maxNext : 0);
    const sample = this.trainingSample(this.lastObs, this.last);
    if (!sample) return;
    this.loadedWeights ??= this.critic.getWeights();
    this.critic.train(sample.input, 1, Int32Array.of(sample.picked), Float32Array.of(label));
    this.updatedSinceReset = true;
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

  private decideVisible(o: ManipObs, q: Float32Array[][]): Decision {
    const g = this.model.geometry;
    const { pixels: targetPx, centroid } = targetPixels(o.mask, g.P);
    const all = allPixels(g.P);
    const pushPx = this.rules.pushCandidates ? pushCandidatePixels(o.height, g, centroid) : all;
    const graspPx = this.rules.targetGrasps ? targetPx : all;
    const bg = argmaxOver(q[1], graspPx);
    const bp = pushPx.length ? argmaxOver(q[0], pushPx, this.rules.pushCandidates ? this.pushEndsInside : undefined) : { k: 0, p: 0, v: -Infinity };
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
    else if (this.coinFlipPrimitive) grasp = this.rng.next() < 0.5;
    else if (this.rules.stuckSwitch && this.stuck && this.last) grasp = this.last.primitive === 0; // nothing moved: switch primitive
    else if (this.rules.coordinator && this.coordinatorFitted) grasp = this.coordinator.pGrasp(features) >= 0.5;
    else grasp = bg.v >= bp.v;
    if (grasp) this.consecutiveFails = this.last?.primitive === 1 ? this.consecutiveFails : 0;
    return grasp ? this.make(1, bg.k, bg.p, features) : this.make(0, bp.k, bp.p, features);
  }

  private decideHidden(o: ManipObs, q: Float32Array[][]): Decision {
    const g = this.model.geometry;
    this.consecutiveFails = 0;
    if (this.rng.next() < this.epsilon) {
      const px = pushHeuristicPixels(o.height, g);
      if (px.length) return this.make(0, this.rng.int(g.R), px[this.rng.int(px.length)], null);
    }
    if (!this.rules.bayesianSearch) {
      // No search: the best of both raw Q maps over the whole workspace.
      const all = allPixels(g.P);
      const bp = argmaxOver(q[0], all);
      const bg = argmaxOver(q[1], all);
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
