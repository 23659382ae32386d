import type { Action } from '../src/core/env.js';
import type { Frame, SceneDescription } from '../src/core/frames.js';
import type { Rng } from '../src/core/rng.js';
import type { Space } from '../src/core/spaces.js';
import type { ZodObject } from 'zod';

/**
 * Task = model + simulation (DESIGN.md). The split lets one policy drive both the
 * simulator and a real robot: on hardware, the robot's telemetry is the `State` and
 * the `Setpoint` is what it receives, so observation and action mapping live here once.
 */

/** Why an episode ended, when it ended by itself (terminated). */
export interface DoneResult {
  terminated: boolean;
  /** e.g. "all-collected", "battery-empty", "crash", "geofence". */
  reason?: string;
}

/** Physical limits the safety layer enforces on hardware, and the simulator obeys. */
export interface TaskLimits {
  /** Per setpoint field: [min, max] in physical units. */
  setpoint: Record<string, [number, number]>;
  /** Max change per second of each setpoint field (rate limit). */
  rate?: Record<string, number>;
  /** Axis-aligned fence [xmin, ymin, zmin, xmax, ymax, zmax] in metres, if the task has one. */
  geofence?: number[];
}

/** A point [x, y, z] in the task's world frame, metres. */
export type Point3 = [number, number, number];

/**
 * Where the robot may go (the geofence for a vehicle, the workspace for an arm), checked by
 * the safety layer against `reach()`. `margin` (m, per axis) is kept clear for the tracking
 * error of the low-level controller. A task without one says so, with the reason.
 */
export type Fence = { kind: 'box'; min: Point3; max: Point3; margin: Point3 } | { kind: 'none'; reason: string };

/**
 * Pure task logic, with no Rapier. The same code runs on a ground station or a robot.
 *
 * The safety layer (hardware/safety.ts) reads a robot only through `parseSetpoint`,
 * `position`, `reach` and `fence`, never by field names, so its rules hold for every task.
 */
export interface TaskModel<State, Setpoint> {
  readonly id: string;
  readonly observationSpace: Space;
  readonly actionSpace: Space;
  readonly limits: TaskLimits;
  /** Build the observation from the state. Writes into `out` when given (hot path). */
  observe(state: State, out?: Float32Array): Float32Array;
  /** Normalised action → physical command (m/s, N·m, gripper primitive...). */
  toSetpoint(action: Action): Setpoint;
  /** A command that holds position / stops safely, used by the watchdog and the geofence. */
  holdSetpoint(state: State): Setpoint;
  reward(prev: State, next: State, setpoint: Setpoint): number;
  done(state: State): DoneResult;
  /** Episode figures from the final state, e.g. Mbit collected, energy, efficiency. */
  metrics(state: State): Record<string, number>;
  /** Check and parse a telemetry object from a robot into a State (throws a ValidationError). */
  parseState?(raw: unknown): State;
  /**
   * Check a setpoint from the wire (or a policy) and build a Setpoint: own properties only,
   * every field present, no unknown field, numbers finite (strings are not numbers). Values
   * may lie outside `limits.setpoint`: the guard clamps them and reports it. Throws a
   * ValidationError naming the field.
   */
  parseSetpoint(raw: unknown): Setpoint;
  /** The geofence or workspace bounds, or `{kind: 'none', reason}`. */
  readonly fence: Fence;
  /** The robot's position in the fence's frame, or null when the state has none (a cart-pole's force). */
  position(state: State): Point3 | null;
  /**
   * The points the robot may reach from `state` by tracking `setpoint` for `horizonS`
   * seconds and then braking at the task's maximum deceleration (for a position setpoint, the
   * target itself). The guard holds when one of them leaves the fence moving outwards.
   */
  reach(state: State, setpoint: Setpoint, horizonS: number): Point3[];
}

/**
 * The simulated world. It owns physics (Rapier or, for the classic tasks, the reference
 * equations) and the low-level controller that tracks setpoints at the physics rate.
 */
export interface SimBackend<State, Setpoint> {
  /** Start an episode. All random draws, now and during the episode, come from `rng`. */
  reset(rng: Rng): State;
  /** Run physics and the low-level controller for `dt` seconds, holding `setpoint`. */
  advance(setpoint: Setpoint, dt: number): State;
  /** The current state (no copy is promised: treat it as read-only). */
  state(): State;
  describe(): SceneDescription;
  /** Poses of the dynamic bodies plus task overlays, for the viewer and recordings. */
  frame(state: State): Pick<Frame, 'poses' | 'bodyIds' | 'hud' | 'overlay'>;
  close(): void;
  /**
   * Put the world into a state that `state()` returned (JSON round-tripped), and return the
   * state now current. Optional: backends that offer it make their env restorable (Env.getState).
   */
  setState?(state: State): State;
}

/** A built task: the model and the simulator, with the timing TaskEnv needs. */
export interface TaskBundle<State = unknown, Setpoint = unknown> {
  model: TaskModel<State, Setpoint>;
  backend: SimBackend<State, Setpoint>;
  controlPeriod: number;
  maxEpisodeSteps: number;
  /** Copy the state for `prev` in reward(); tasks whose backend mutates state in place must deep-copy. */
  snapshot(state: State): State;
}

/** Fields every scene has; a task kind's schema adds its own. */
export interface SceneBase {
  task: string;
  name: string;
  description?: string;
}

/**
 * A task kind: how a scene whose `task` field is `id` becomes a model and a simulation.
 * The two halves are separate so that the robot side (agent, bridge) builds only
 * `model(scene)` and never a Rapier world; `simulate` is called for simulation only.
 */
export interface TaskKind<Scene extends SceneBase = any, State = any, Setpoint = any> {
  /** The scene file's `task` field, e.g. "uav". */
  id: string;
  /** A z.strictObject with `task: z.literal(id)`; without one, any object with `task`, `name` passes. */
  schema?: ZodObject<any>;
  /** The pure task model (no Rapier): what a robot needs. */
  model(scene: Scene): TaskModel<State, Setpoint>;
  /** The simulated world that advances the model's states. */
  simulate(scene: Scene, model: TaskModel<State, Setpoint>): SimBackend<State, Setpoint> | Promise<SimBackend<State, Setpoint>>;
  /** Seconds between two control steps (a number, or read from the scene). */
  controlPeriod: number | ((scene: Scene) => number);
  /** Steps after which an episode is truncated (default: the scene's `maxEpisodeSteps`). */
  maxEpisodeSteps?: number | ((scene: Scene) => number);
  /** Copy a state for reward(prev, next) (default: structuredClone, safe for any plain state). */
  snapshot?(state: State): State;
  /** How training picks policy-best/ (default: the highest mean evaluation return). */
  selectBy?: SelectionRule;
  /**
   * The scripted controller `embody run` uses when none is named (default "random"), or a rule per
   * scene (a task whose scenes differ in what they observe). A name only: tasks never import controllers.
   */
  baseline?: string | ((scene: Scene) => string);
}

/**
 * The evaluation figure that ranks policies: the highest mean `metric`, among evaluations
 * whose mean of each `require` key reaches its value. An evaluation that misses a
 * requirement ranks below every one that meets them (and among those, by return).
 */
export interface SelectionRule {
  metric: string;
  require?: Record<string, number>;
}
