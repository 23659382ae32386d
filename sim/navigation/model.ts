import { z } from 'zod';
import type { Action } from '../../src/core/env.js';
import { ValidationError } from '../../src/core/errors.js';
import type { Rng } from '../../src/core/rng.js';
import { Box } from '../../src/core/spaces.js';
import { boxFence, finiteNumber, parseSetpointWith } from '../setpoint.js';
import type { DoneResult, Fence, Point3, TaskLimits, TaskModel } from '../task.js';
import { planPath, polylineLength, type OccupancyGrid } from './grid.js';
import { buildLayout, checkPlaces, inflatedGrid, type Layout } from './layout.js';
import type { NavScene } from './scene.js';

/**
 * Indoor navigation (after FantasyHSI's navigator / planner / critic), the pure half of the task.
 *
 * | part        | what                                                                                  |
 * | ----------- | ------------------------------------------------------------------------------------- |
 * | observation | n lidar ranges ÷ max range (n = 32 by default); the current goal in the robot frame:  |
 * |             | distance ÷ max range, cos and sin of its bearing; v ÷ max speed, ω ÷ max turn rate —   |
 * |             | these n + 5 floats are the low-level part (`lowLevelSize`). Then the pose (x, y in    |
 * |             | [-1, 1], cos θ, sin θ), the goal index ÷ goal count, the goal (x, y in [-1, 1]).       |
 * | action      | Box(-1, 1, [2]) → (v, ω) setpoint: v = a0·maxSpeed m/s, ω = a1·maxTurnRate rad/s     |
 * | reward      | progress (m) towards the current goal, + bonus per goal reached, − collisions, − time |
 * | start       | a named place (or a random free point) ± jitter, heading U[−π, π]; goals drawn per seed|
 * | end         | terminated: every goal reached in order, or out of the area (geofence); truncated: step limit |
 */
export interface NavState {
  t: number;
  /** [x, y, θ]. */
  pose: [number, number, number];
  /** Forward speed (m/s) and yaw rate (rad/s) measured on the body. */
  vel: [number, number];
  lidar: Float32Array;
  /** The task: goals in order, their names ("kitchen"...), and how many are reached. */
  goals: [number, number][];
  goalNames: string[];
  goalIndex: number;
  /** Shortest collision-free length of the whole task (ℓ in SPL), m. */
  shortestPath: number;
  /** Path length actually driven (p in SPL), m. */
  distance: number;
  collisions: number;
  /** The robot left the floor area (only a physics failure can do that: the area is walled). */
  outOfBounds: boolean;
}

export interface NavSetpoint {
  v: number;
  omega: number;
}

/** What a planning controller publishes for the viewer and the episode figures (see annotate). */
export interface NavAnnotations {
  plannedPath: [number, number][];
  waypoint?: [number, number];
  events: { t: number; kind: string; [k: string]: unknown }[];
  /** Figures added to metrics(): cross-track error, replans, corrective nodes... */
  stats: Record<string, number>;
}

/** A (v, ω) setpoint on the wire: exactly these two fields, finite numbers (range is the guard's). */
const navSetpointSchema = z.strictObject({ v: finiteNumber, omega: finiteNumber });

const navStateSchema = z.object({
  t: finiteNumber,
  pose: z.tuple([finiteNumber, finiteNumber, finiteNumber]),
  vel: z.tuple([finiteNumber, finiteNumber]),
  lidar: z.array(finiteNumber),
  goals: z.array(z.tuple([finiteNumber, finiteNumber])),
  goalNames: z.array(z.string()),
  goalIndex: z.number().int().nonnegative(),
  shortestPath: finiteNumber,
  distance: finiteNumber,
  collisions: z.number().int().nonnegative(),
  outOfBounds: z.boolean().default(false),
});

export function wrapAngle(a: number): number {
  return a - 2 * Math.PI * Math.floor((a + Math.PI) / (2 * Math.PI));
}

export class NavModel implements TaskModel<NavState, NavSetpoint> {
  readonly id = 'navigation';
  readonly observationSpace: Box;
  readonly actionSpace = new Box(-1, 1, [2]);
  readonly limits: TaskLimits;
  readonly fence: Fence;
  readonly layout: Layout;
  /** The static map, inflated by the robot radius: what the navigator plans on, and what ℓ is measured on. */
  readonly grid: OccupancyGrid;
  readonly rays: number;
  /** Size of the low-level observation (lidar + goal + speeds), the prefix a waypoint policy reads. */
  readonly lowLevelSize: number;
  /** Set by a planning controller each step, cleared by the backend's reset; read by frames and metrics. */
  annotations: NavAnnotations | null = null;

  constructor(
    readonly scene: NavScene,
    file = scene.name,
  ) {
    this.layout = buildLayout(scene, file);
    this.grid = inflatedGrid(scene, this.layout);
    checkPlaces(scene, this.layout, this.grid, file);
    this.rays = scene.lidar.rays;
    this.lowLevelSize = this.rays + 5;
    this.observationSpace = new Box(-Infinity, Infinity, [scene.observation === 'full' ? this.lowLevelSize + 7 : this.lowLevelSize]);
    const { maxSpeed, maxTurnRate, maxAccel, maxAngularAccel } = scene.robot;
    this.limits = {
      setpoint: { v: [-maxSpeed, maxSpeed], omega: [-maxTurnRate, maxTurnRate] },
      rate: { v: maxAccel, omega: maxAngularAccel },
      geofence: [0, 0, 0, scene.area.size[0], scene.area.size[1], scene.walls.height],
    };
    // The body must stay clear of the fence: its radius plus a tracking margin, in x and y.
    const m = scene.robot.radius + 0.1;
    this.fence = boxFence(this.limits.geofence!, [m, m, 0]);
  }

  parseSetpoint(raw: unknown): NavSetpoint {
    return parseSetpointWith('navigation', navSetpointSchema, raw);
  }

  position(s: NavState): Point3 {
    return [s.pose[0], s.pose[1], 0];
  }

  /**
   * A unicycle (x, y, θ) driven by the setpoint for the horizon and then braked: speed and
   * yaw rate move towards the setpoint at maxAccel / maxAngularAccel from the measured
   * ones, then v falls to zero at maxAccel. Sampled every 50 ms; a robot turning while it
   * drives sweeps an arc, and every point of it must stay inside.
   */
  reach(s: NavState, sp: NavSetpoint, horizonS: number): Point3[] {
    const { maxAccel, maxAngularAccel } = this.scene.robot;
    const dt = 0.05;
    let [x, y, th] = s.pose;
    let [v, w] = s.vel;
    const points: Point3[] = [];
    const towards = (cur: number, target: number, step: number) => cur + Math.max(-step, Math.min(step, target - cur));
    const brakeS = Math.max(Math.abs(v), Math.abs(sp.v)) / maxAccel;
    const steps = Math.ceil((horizonS + brakeS) / dt);
    for (let k = 0; k < steps; k++) {
      const braking = k * dt >= horizonS;
      v = towards(v, braking ? 0 : sp.v, maxAccel * dt);
      w = towards(w, braking ? 0 : sp.omega, maxAngularAccel * dt);
      x += v * Math.cos(th) * dt;
      y += v * Math.sin(th) * dt;
      th += w * dt;
      points.push([x, y, 0]);
    }
    return points;
  }

  /** Ray k's angle in the robot frame (k = 0 points straight ahead, counter-clockwise). */
  rayAngle(k: number): number {
    return (2 * Math.PI * k) / this.rays;
  }

  observe(s: NavState, out: Float32Array = new Float32Array(this.observationSpace.size)): Float32Array {
    const R = this.scene.lidar.maxRange;
    const n = this.rays;
    for (let k = 0; k < n; k++) out[k] = s.lidar[k] / R;
    const done = s.goalIndex >= s.goals.length;
    const g = s.goals[Math.min(s.goalIndex, s.goals.length - 1)];
    const [x, y, th] = s.pose;
    const dx = g[0] - x;
    const dy = g[1] - y;
    const d = Math.hypot(dx, dy);
    const bearing = Math.atan2(dy, dx) - th;
    out[n] = done ? 0 : Math.min(d, 2 * R) / R;
    out[n + 1] = done ? 1 : Math.cos(bearing);
    out[n + 2] = done ? 0 : Math.sin(bearing);
    out[n + 3] = s.vel[0] / this.scene.robot.maxSpeed;
    out[n + 4] = s.vel[1] / this.scene.robot.maxTurnRate;
    if (this.scene.observation === 'waypoint') return out;
    const [Lx, Ly] = this.scene.area.size;
    out[n + 5] = (2 * x) / Lx - 1;
    out[n + 6] = (2 * y) / Ly - 1;
    out[n + 7] = Math.cos(th);
    out[n + 8] = Math.sin(th);
    out[n + 9] = s.goalIndex / s.goals.length;
    out[n + 10] = (2 * g[0]) / Lx - 1;
    out[n + 11] = (2 * g[1]) / Ly - 1;
    return out;
  }

  /** Undo the pose part of observe(): [x, y, θ]. */
  decodePose(obs: Float32Array): [number, number, number] {
    const n = this.rays;
    // The "waypoint" observation stops at the low-level part: reading on would give a NaN pose.
    if (obs.length < n + 9) throw new ValidationError(`navigation observation of ${obs.length} floats has no pose (the "full" observation has ${this.lowLevelSize + 7}; scene "${this.scene.name}" observes "${this.scene.observation}")`);
    const [Lx, Ly] = this.scene.area.size;
    return [((obs[n + 5] + 1) * Lx) / 2, ((obs[n + 6] + 1) * Ly) / 2, Math.atan2(obs[n + 8], obs[n + 7])];
  }

  toSetpoint(action: Action): NavSetpoint {
    if (typeof action === 'number' || action.length !== 2) {
      throw new ValidationError(`navigation action must be 2 floats in [-1, 1], got ${typeof action === 'number' ? action : `${action.length} values`}`);
    }
    const c = (v: number) => (Number.isNaN(v) ? 0 : Math.max(-1, Math.min(1, v)));
    return { v: c(action[0]) * this.scene.robot.maxSpeed, omega: c(action[1]) * this.scene.robot.maxTurnRate };
  }

  /** Physical setpoint → normalised action (for controllers that plan in m/s and rad/s). */
  toAction(sp: NavSetpoint, out: Float32Array = new Float32Array(2)): Float32Array {
    out[0] = Math.max(-1, Math.min(1, sp.v / this.scene.robot.maxSpeed));
    out[1] = Math.max(-1, Math.min(1, sp.omega / this.scene.robot.maxTurnRate));
    return out;
  }

  holdSetpoint(): NavSetpoint {
    return { v: 0, omega: 0 };
  }

  /** Advance the goal index when the robot is within goalRadius of the current goal (called by the backend). */
  updateGoal(s: NavState): void {
    if (s.goalIndex >= s.goals.length) return;
    const g = s.goals[s.goalIndex];
    if (Math.hypot(g[0] - s.pose[0], g[1] - s.pose[1]) <= this.scene.goalRadius) s.goalIndex++;
  }

  reward(prev: NavState, next: NavState): number {
    const r = this.scene.reward;
    let reward = 0;
    if (prev.goalIndex < prev.goals.length) {
      const g = prev.goals[prev.goalIndex];
      const d0 = Math.hypot(g[0] - prev.pose[0], g[1] - prev.pose[1]);
      const d1 = Math.hypot(g[0] - next.pose[0], g[1] - next.pose[1]);
      reward += r.progress * (d0 - d1);
    }
    reward += r.goalBonus * (next.goalIndex - prev.goalIndex);
    reward -= r.collisionPenalty * (next.collisions - prev.collisions);
    reward -= r.timePenalty * (next.t - prev.t);
    return reward;
  }

  done(s: NavState): DoneResult {
    if (s.goalIndex >= s.goals.length) return { terminated: true, reason: 'all-goals' };
    if (s.outOfBounds) return { terminated: true, reason: 'geofence' };
    return { terminated: false };
  }

  /** Success, SPL = S·ℓ/max(p, ℓ) (Anderson et al. 2018), collisions, time; plus the planner's figures when one runs. */
  metrics(s: NavState): Record<string, number> {
    const success = s.goalIndex >= s.goals.length ? 1 : 0;
    const l = s.shortestPath;
    return {
      success,
      spl: success ? l / Math.max(s.distance, l) : 0,
      goalsReached: s.goalIndex,
      goals: s.goals.length,
      collisions: s.collisions,
      outOfBounds: s.outOfBounds ? 1 : 0,
      distanceM: s.distance,
      shortestPathM: l,
      timeS: s.t,
      ...(this.annotations?.stats ?? {}),
    };
  }

  /**
   * Draw a task from `rng`: a start pose and a goal sequence. Goals are named places (never
   * the same twice in a row), or in `random` mode free points in sight of the previous one.
   */
  drawTask(rng: Rng): { start: [number, number, number]; goals: [number, number][]; goalNames: string[]; shortestPath: number } {
    const g = this.scene.goals;
    const places = this.layout.places;
    let start: [number, number];
    const goals: [number, number][] = [];
    const goalNames: string[] = [];
    if (g.mode === 'places') {
      const startNames = g.start ?? [...places.keys()];
      const goalPool = g.from ?? [...places.keys()];
      let prev = startNames[rng.int(startNames.length)];
      start = this.jitter(places.get(prev)!, rng);
      for (let k = 0; k < g.count; k++) {
        const choices = goalPool.filter((n) => n !== prev);
        const name = choices[rng.int(choices.length)];
        goals.push([...places.get(name)!]);
        goalNames.push(name);
        prev = name;
      }
    } else {
      start = this.randomFree(rng);
      let prev = start;
      for (let k = 0; k < g.count; k++) {
        const p = this.randomFreeNear(prev, rng);
        goals.push(p);
        goalNames.push(`point-${k + 1}`);
        prev = p;
      }
    }
    let shortestPath = 0;
    let from = start;
    // ℓ per leg is the geodesic distance to the goal's success disc (Anderson et al. 2018).
    goals.forEach((goal, k) => {
      shortestPath += Math.max(0, polylineLength(planPath(this.grid, from, goal, { label: `"${goalNames[k]}"` })) - this.scene.goalRadius);
      from = goal;
    });
    return { start: [start[0], start[1], rng.uniform(-Math.PI, Math.PI)], goals, goalNames, shortestPath };
  }

  private jitter(p: [number, number], rng: Rng): [number, number] {
    const j = this.scene.goals.startJitter;
    for (let tries = 0; tries < 20; tries++) {
      const q: [number, number] = [p[0] + rng.uniform(-j, j), p[1] + rng.uniform(-j, j)];
      if (!this.grid.occupiedAt(q[0], q[1])) return q;
    }
    return [p[0], p[1]];
  }

  private randomFree(rng: Rng): [number, number] {
    const [Lx, Ly] = this.scene.area.size;
    for (let tries = 0; tries < 10000; tries++) {
      const q: [number, number] = [rng.uniform(0, Lx), rng.uniform(0, Ly)];
      if (!this.grid.occupiedAt(q[0], q[1])) return q;
    }
    throw new ValidationError(`${this.scene.name}: no free floor found for a random start`);
  }

  private randomFreeNear(p: [number, number], rng: Rng): [number, number] {
    const { minDistance, maxDistance } = this.scene.goals;
    for (let tries = 0; tries < 1000; tries++) {
      const r = rng.uniform(minDistance, maxDistance);
      const a = rng.uniform(-Math.PI, Math.PI);
      const q: [number, number] = [p[0] + r * Math.cos(a), p[1] + r * Math.sin(a)];
      if (!this.grid.occupiedAt(q[0], q[1]) && this.grid.lineOfSight(p, q)) return q;
    }
    return this.randomFree(rng);
  }

  parseState(raw: unknown): NavState {
    const res = navStateSchema.safeParse(raw);
    if (!res.success) {
      const first = res.error.issues[0];
      throw new ValidationError(`navigation state: ${first.path.join('.') || '(root)'}: ${first.message}`, [], { cause: res.error });
    }
    const s = res.data;
    if (s.lidar.length !== this.rays) throw new ValidationError(`navigation state: lidar: expected ${this.rays} ranges, got ${s.lidar.length}`);
    return { ...s, pose: [...s.pose], vel: [...s.vel], lidar: Float32Array.from(s.lidar), goals: s.goals.map((g) => [g[0], g[1]]) };
  }
}
