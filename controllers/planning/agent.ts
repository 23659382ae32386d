import type { Controller, ControllerContext } from '../../src/core/controller.js';
import type { EnvSpec } from '../../src/core/env.js';
import { ContractError } from '../../src/core/errors.js';
import { Box } from '../../src/core/spaces.js';
import type { NavModel, NavState } from '../../sim/navigation/model.js';
import { NoPathError } from '../../sim/navigation/grid.js';
import { Critic, type CriticDecision } from './critic.js';
import { cumulativeLengths, pointAt, project, wrapAngle, type Vec2 } from './geometry.js';
import { Navigator } from './navigator.js';
import { Planner, type ActionNode } from './planner.js';
import { LearnedFollower, PurePursuit, type WaypointFollower } from './pursuit.js';

/**
 * The navigation agent (after FantasyHSI): navigator (map + A*) → planner (goal sequence →
 * atomic actions on a dynamic graph) → low-level waypoint follower (pure pursuit or a learned
 * policy), with the critic closing the loop when enabled.
 *
 * It reads the pose, lidar and goal index from the observation. It is `privileged` only to
 * read the task's instruction (the goal sequence and its names) from the state once per
 * episode; on a robot that list comes with the task.
 */
export interface NavAgentOptions {
  critic: boolean;
  follower?: WaypointFollower;
  /** Pure pursuit lookahead, m. */
  lookahead?: number;
  kind?: string;
}

interface Stats {
  crossTrackSum: number;
  crossTrackN: number;
  crossTrackMax: number;
  corrections: number;
  replanFailures: number;
}

export class NavAgent implements Controller {
  readonly kind: string;
  readonly privileged = true;
  readonly navigator: Navigator;
  planner: Planner;
  readonly critic: Critic | null;
  readonly follower: WaypointFollower;
  private readonly dt: number;
  private readonly lookahead: number;
  private t = 0;
  private leg = 0;
  private legS = 0;
  private nodeStart = 0;
  private started = false;
  private waypoint: Vec2 | undefined;
  private stats: Stats = { crossTrackSum: 0, crossTrackN: 0, crossTrackMax: 0, corrections: 0, replanFailures: 0 };
  private readonly zero = new Float32Array(2);

  constructor(
    readonly model: NavModel,
    spec: EnvSpec,
    opts: NavAgentOptions,
  ) {
    this.navigator = new Navigator(model);
    this.planner = new Planner(this.navigator);
    this.critic = opts.critic ? new Critic(model.scene.critic) : null;
    this.follower = opts.follower ?? new PurePursuit(model);
    this.dt = spec.controlPeriod;
    this.lookahead = opts.lookahead ?? 0.5;
    this.kind = opts.kind ?? `nav-${this.follower.kind}${opts.critic ? '-critic' : ''}`;
    // The agent reads its pose and goal index from the observation: the "waypoint" observation
    // (scenes that train the low level, e.g. nav-waypoint) has neither, and reading them past its
    // end would give a NaN pose that A* reports as a start inside an obstacle.
    if (model.scene.observation !== 'full' || spec.observationSpace.size < model.lowLevelSize + 7) {
      throw new ContractError(
        `${this.kind}: scene "${model.scene.name}" has the "${model.scene.observation}" observation (${spec.observationSpace.size} floats: lidar, goal and speeds), without the pose and goal index the navigation agent reads; ` +
          `it needs a scene with "observation": "full" (nav-office, nav-apartment). On a waypoint scene run a waypoint policy (e.g. -c controllers/planning/policies/nav-waypoint-sac).`,
      );
    }
  }

  reset(): void {
    this.navigator.reset();
    this.planner = new Planner(this.navigator);
    this.critic?.reset();
    this.follower.reset();
    this.t = 0;
    this.leg = 0;
    this.legS = 0;
    this.nodeStart = 0;
    this.started = false;
    this.waypoint = undefined;
    this.stats = { crossTrackSum: 0, crossTrackN: 0, crossTrackMax: 0, corrections: 0, replanFailures: 0 };
  }

  act(obs: Float32Array, state?: unknown): Float32Array {
    const { model } = this;
    const n = model.rays;
    const pose = model.decodePose(obs);
    if (!this.started) {
      const s = state as NavState | undefined;
      if (!s?.goals) throw new ContractError('the navigation agent needs the task state (its goal sequence) on the first act()');
      // A goal with no path throws NoPathError here, naming the goal.
      this.planner.build([pose[0], pose[1]], s.goals, s.goalNames);
      this.started = true;
      this.nodeStart = 0;
    }
    const goals = this.planner.legs.length;
    const taskLeg = Math.round(obs[n + 9] * goals);
    if (taskLeg >= goals) return this.publish(this.zero.slice());
    if (taskLeg > this.leg) {
      // The task counts the goal reached: drop what is left of the earlier legs.
      this.planner.graph.skipTo(taskLeg);
      this.leg = taskLeg;
      this.legS = 0;
      this.nodeStart = this.t;
      this.critic?.restartProgress(this.t);
    }
    const leg = this.planner.legs[this.leg];
    const pr = project(leg.path, leg.cum, [pose[0], pose[1]], this.legS - 0.5, this.legS + 1.5);
    this.legS = Math.max(this.legS, pr.s);
    let action: Float32Array | null = null;
    for (let guard = 0; guard < 8 && !action; guard++) {
      let node = this.planner.graph.current();
      if (!node || node.leg > this.leg) {
        // The plan says this leg is over but the task has not counted the goal.
        if (!this.critic) {
          if (!node) return this.publish(this.zero.slice());
        } else {
          this.apply({ kind: 'correct', target: leg.goal, reason: 'goal not reached at the end of its leg' }, pose, true);
          node = this.planner.graph.current()!;
        }
      }
      const res = this.execute(node!, obs, pose);
      if (res === 'done') {
        this.planner.graph.advance();
        this.nodeStart = this.t;
        if (this.critic) this.apply(this.critic.check(this.t, pose, this.planner.legs[this.leg], { afterAction: node!.kind, moving: false, sMin: this.legS - 0.5 }), pose);
        continue;
      }
      action = res;
    }
    action ??= this.zero.slice();
    // Fixed-rate check.
    const cur = this.planner.graph.current();
    if (this.critic && this.critic.due(this.t)) {
      const moving = cur?.kind === 'go-to';
      const turnError = cur?.kind === 'turn-to' ? wrapAngle((cur.heading ?? 0) - pose[2]) : undefined;
      this.apply(this.critic.check(this.t, pose, this.planner.legs[this.leg], { moving, sMin: this.legS - 0.5, turnError }), pose, false, obs);
    }
    if (cur?.kind === 'go-to') {
      const e = project(this.planner.legs[this.leg].path, this.planner.legs[this.leg].cum, [pose[0], pose[1]], this.legS - 0.5, this.legS + 1.5).crossTrack;
      this.stats.crossTrackSum += e;
      this.stats.crossTrackN++;
      this.stats.crossTrackMax = Math.max(this.stats.crossTrackMax, e);
    }
    this.t += this.dt;
    return this.publish(action);
  }

  /** Run one atomic action for this step: an action, or 'done' when it has finished. */
  private execute(node: ActionNode, obs: Float32Array, pose: [number, number, number]): Float32Array | 'done' {
    const { maxTurnRate } = this.model.scene.robot;
    if (node.kind === 'wait') {
      if (this.t - this.nodeStart >= (node.duration ?? 0) - 1e-9) return 'done';
      return this.zero.slice();
    }
    if (node.kind === 'turn-to') {
      const err = wrapAngle((node.heading ?? 0) - pose[2]);
      if (Math.abs(err) < 0.2) return 'done';
      return this.model.toAction({ v: 0, omega: Math.sign(err) * Math.min(maxTurnRate, 2.5 * Math.abs(err)) });
    }
    // go-to: follow the node's path towards its target.
    const path = node.path!;
    const cum = node.cum!;
    const target = node.target!;
    const dist = Math.hypot(target[0] - pose[0], target[1] - pose[1]);
    const pr = project(path, cum, [pose[0], pose[1]]);
    if (node.stop ? dist < 0.5 * this.model.scene.goalRadius : pr.s >= node.s! - 0.1 || dist < 0.2) return 'done';
    const end = node.stop ? node.s! : cum[cum.length - 1];
    const la = pointAt(path, cum, Math.min(end, pr.s + this.lookahead));
    // Near a stopping target the lookahead point is the target itself.
    this.waypoint = node.stop && dist < this.lookahead ? target : la;
    const remaining = node.stop ? Math.max(dist, end - pr.s) : Math.max(0.3, end - pr.s);
    return this.follower.act(obs, pose, this.waypoint, remaining);
  }

  /** Carry out a critic decision on the graph: a corrective node, a turn, or a replan. */
  private apply(d: CriticDecision, pose: [number, number, number], logged = false, obs?: Float32Array): void {
    if (d.kind === 'ok') return;
    const graph = this.planner.graph;
    if (d.kind === 'skip') {
      graph.dropCurrent();
      this.nodeStart = this.t;
      this.stats.corrections++;
      return;
    }
    if (d.kind === 'correct') {
      const path: Vec2[] = [[pose[0], pose[1]], d.target];
      const node = graph.add({ kind: 'go-to', leg: this.leg, target: d.target, path, cum: cumulativeLengths(path), s: cumulativeLengths(path)[1], stop: logged, corrective: true });
      graph.insertBeforeCurrent(node);
      this.nodeStart = this.t;
      this.stats.corrections++;
      if (logged) this.critic?.log({ t: this.t, kind: 'correct', reason: d.reason, crossTrack: 0, headingError: 0, progress: 1, pose: [pose[0], pose[1]] });
    } else if (d.kind === 'turn') {
      graph.insertBeforeCurrent(graph.add({ kind: 'turn-to', leg: this.leg, heading: d.heading, corrective: true }));
      this.nodeStart = this.t;
      this.stats.corrections++;
    } else {
      const lidar = obs ? Array.from(obs.subarray(0, this.model.rays), (x) => x * this.model.scene.lidar.maxRange) : undefined;
      try {
        this.planner.replan(this.leg, pose, lidar);
        this.legS = 0;
        this.nodeStart = this.t;
        this.critic?.restartProgress(this.t);
      } catch (err) {
        if (!(err instanceof NoPathError)) throw err;
        // Keep the old plan; the map learned from the lidar may have closed a gap, so forget it.
        this.navigator.reset();
        this.stats.replanFailures++;
        this.critic?.log({ t: this.t, kind: 'no-path', reason: (err as Error).message, crossTrack: 0, headingError: 0, progress: 0, pose: [pose[0], pose[1]] });
      }
    }
  }

  /** Figures for metrics() and the HUD. */
  figures(): Record<string, number> {
    const s = this.stats;
    return {
      crossTrackMean: s.crossTrackN ? s.crossTrackSum / s.crossTrackN : 0,
      crossTrackMax: s.crossTrackMax,
      replans: this.planner.replans,
      corrections: s.corrections,
      criticEvents: this.critic?.events.length ?? 0,
    };
  }

  /** Publish the plan for frames and metrics (model.annotations), then return the action. */
  private publish(action: Float32Array): Float32Array {
    if (this.started) {
      const planned: Vec2[] = [];
      for (let k = this.leg; k < this.planner.legs.length; k++) planned.push(...this.planner.legs[k].path);
      this.model.annotations = {
        plannedPath: planned,
        waypoint: this.waypoint,
        events: (this.critic?.events ?? []) as NavAnnotationsEvents,
        stats: this.figures(),
      };
    }
    return action;
  }
}

type NavAnnotationsEvents = { t: number; kind: string; [k: string]: unknown }[];

function navModelOf(context: ControllerContext): NavModel {
  const m = context.model as NavModel | undefined;
  if (!m || m.id !== 'navigation') throw new ContractError('navigation controllers need the navigation task model in their context');
  return m;
}

/** Planner + pure pursuit, open loop (no critic). */
export function createNavPursuit(spec: EnvSpec, context: ControllerContext): Controller {
  return new NavAgent(navModelOf(context), spec, { critic: false, lookahead: numberOption(context, 'lookahead', 0.5) });
}

/** Planner + pure pursuit + the closed-loop critic. */
export function createNavPursuitCritic(spec: EnvSpec, context: ControllerContext): Controller {
  return new NavAgent(navModelOf(context), spec, { critic: true, lookahead: numberOption(context, 'lookahead', 0.5) });
}

export { navModelOf };

/**
 * The learned follower's waypoint sits further ahead than pure pursuit's: the policy was trained
 * on waypoints 0.4–1.2 m away (scenes/nav-waypoint.json) and slows down as one gets close.
 */
export const LEARNED_LOOKAHEAD = 1.0;

/** A numeric controller option (`--controller-opt key=value`), or `fallback` when absent. */
export function numberOption(context: ControllerContext, key: string, fallback: number): number {
  const raw = context.options?.[key];
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v <= 0) throw new ContractError(`controller option ${key}=${raw}: expected a positive number`);
  return v;
}

/**
 * Planner + a learned waypoint-reaching policy (a policy artifact trained on
 * scenes/nav-waypoint.json) as the low level, with or without the critic. The follower is an
 * MLP policy directory (as in a nav-composite artifact), checked against the waypoint
 * observation it must read.
 */
export async function createNavLearnedAgent(model: NavModel, spec: EnvSpec, opts: { policyDir: string; critic: boolean; lookahead?: number }): Promise<NavAgent> {
  // Read and checked as the one loader does, but not through it: the loader imports the controllers, this one among them.
  const { loadMlpPolicy } = await import('../policy/read-policy.js');
  const { controller } = await loadMlpPolicy(opts.policyDir, followerTarget(model));
  return new NavAgent(model, spec, {
    critic: opts.critic,
    follower: new LearnedFollower(model, controller, model.lowLevelSize),
    lookahead: opts.lookahead ?? LEARNED_LOOKAHEAD,
    kind: `nav-learned${opts.critic ? '-critic' : ''}`,
  });
}

/** The task a waypoint follower is loaded for: the low-level observation (lidar, waypoint, speeds). */
export function followerTarget(model: NavModel) {
  return { id: model.id, scene: 'nav-waypoint', observationSpace: new Box(-Infinity, Infinity, [model.lowLevelSize]), actionSpace: model.actionSpace };
}

/** For the SCRIPTED registry: the waypoint policy comes from the controller option `policy`. */
export function learnedFactory(critic: boolean): () => Promise<(spec: EnvSpec, context: ControllerContext) => Promise<Controller>> {
  return async () => async (spec, context) => {
    const dir = context.options?.policy;
    if (!dir) throw new ContractError(`nav-learned${critic ? '-critic' : ''} needs --controller-opt policy=<dir> (a waypoint policy trained on nav-waypoint, e.g. controllers/planning/policies/nav-waypoint-sac)`);
    return createNavLearnedAgent(navModelOf(context), spec, { policyDir: dir, critic, lookahead: numberOption(context, 'lookahead', LEARNED_LOOKAHEAD) });
  };
}
