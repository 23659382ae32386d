/**
 * Pendulum-v1, ported from Gymnasium (gymnasium/envs/classic_control/pendulum.py).
 * The inverted-pendulum swing-up: apply torque at the pivot to hold the pendulum upright.
 *
 * | | |
 * | --- | --- |
 * | Observation | Box(3): [cos θ, sin θ, θ̇], bounds [±1, ±1, ±8]; θ = 0 is upright, counter-clockwise positive |
 * | Action | Box(1) in [-1, 1], NORMALISED: toSetpoint multiplies by max_torque = 2 → torque in N·m, clipped to [-2, 2] |
 * | Reward | −(angle_normalize(θ)² + 0.1·θ̇² + 0.001·u²), from the state BEFORE the step and the physical torque u; in [−16.27, 0] |
 * | Start state | θ ~ U[−π, π], θ̇ ~ U[−1, 1], drawn from the episode's Rng |
 * | Episode end | never terminates; truncated at 200 steps (TaskEnv, `maxEpisodeSteps`) |
 *
 * Constants: max_speed 8, max_torque 2, dt 0.05, g 10 (scene `g`), m 1, l 1.
 * Step (explicit, velocity first): θ̇′ = clip(θ̇ + (3g/(2l)·sin θ + 3/(m·l²)·u)·dt, ±8), θ′ = θ + θ̇′·dt.
 * Gymnasium's action space is Box(−2, 2); ours is [−1, 1] like every embody Box action, and the
 * ×2 happens in toSetpoint, so a policy here maps one-to-one to Gymnasium's with action × 2.
 */
import { z } from 'zod';
import { finiteNumber, parseSetpointWith } from '../setpoint.js';
import type { Fence, Point3 } from '../task.js';
import type { Action } from '../../src/core/env.js';
import type { SceneDescription } from '../../src/core/frames.js';
import type { Rng } from '../../src/core/rng.js';
import { Box } from '../../src/core/spaces.js';
import { posInt, posNum, sceneBase } from '../scene.js';
import type { SimBackend, TaskBundle, TaskKind, TaskModel } from '../task.js';

export const PENDULUM = {
  maxSpeed: 8,
  maxTorque: 2.0,
  dt: 0.05,
  m: 1.0,
  l: 1.0,
} as const;

export const pendulumSceneSchema = z.strictObject({
  ...sceneBase,
  task: z.literal('pendulum'),
  /** Gravity, m/s² (Gymnasium's `g` argument; default 10). */
  g: posNum().default(10),
  maxEpisodeSteps: posInt().default(200),
});
export type PendulumScene = z.infer<typeof pendulumSceneSchema>;

export interface PendulumState {
  /** Angle, rad, not wrapped (Gymnasium keeps it unwrapped too); 0 is upright. */
  theta: number;
  /** Angular velocity, rad/s. */
  thetaDot: number;
}

export interface PendulumSetpoint {
  /** Torque at the pivot, N·m, in [−2, 2]. */
  torque: number;
}

/** ((x + π) mod 2π) − π with Python's floored modulo, as Gymnasium's angle_normalize. */
export function angleNormalize(x: number): number {
  const y = 2 * Math.PI;
  let r = (x + Math.PI) % y;
  if (r !== 0 && r < 0) r += y;
  return r - Math.PI;
}

function clip(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

export class PendulumModel implements TaskModel<PendulumState, PendulumSetpoint> {
  readonly id = 'Pendulum-v1';
  readonly observationSpace = new Box([-1, -1, -PENDULUM.maxSpeed], [1, 1, PENDULUM.maxSpeed]);
  readonly actionSpace = new Box(-1, 1, [1]);
  readonly limits = { setpoint: { torque: [-PENDULUM.maxTorque, PENDULUM.maxTorque] as [number, number] } };

  observe(state: PendulumState, out: Float32Array = new Float32Array(3)): Float32Array {
    out[0] = Math.cos(state.theta);
    out[1] = Math.sin(state.theta);
    out[2] = state.thetaDot;
    return out;
  }

  /** No fence: a torque at a fixed pivot: nothing moves through space. */
  readonly fence: Fence = { kind: 'none', reason: 'a torque at a fixed pivot: nothing moves through space' };

  parseSetpoint(raw: unknown): PendulumSetpoint {
    return parseSetpointWith('pendulum', z.strictObject({ torque: finiteNumber }), raw);
  }

  position(): Point3 | null {
    return null;
  }

  reach(): Point3[] {
    return [];
  }

  toSetpoint(action: Action): PendulumSetpoint {
    const a = typeof action === 'number' ? action : action[0];
    // NaN never reaches the physics: treat it as no torque.
    const u = Number.isNaN(a) ? 0 : a * PENDULUM.maxTorque;
    return { torque: clip(u, -PENDULUM.maxTorque, PENDULUM.maxTorque) };
  }

  holdSetpoint(): PendulumSetpoint {
    return { torque: 0 };
  }

  /** Gymnasium's cost is taken on the state before the step, with the clipped torque. */
  reward(prev: PendulumState, _next: PendulumState, setpoint: PendulumSetpoint): number {
    const u = clip(setpoint.torque, -PENDULUM.maxTorque, PENDULUM.maxTorque);
    const th = angleNormalize(prev.theta);
    return -(th * th + 0.1 * prev.thetaDot * prev.thetaDot + 0.001 * u * u);
  }

  done() {
    return { terminated: false };
  }

  metrics(state: PendulumState): Record<string, number> {
    return { finalAngle: Math.abs(angleNormalize(state.theta)), finalSpeed: Math.abs(state.thetaDot) };
  }
}

/** The reference equations, integrated once per control period (no Rapier). */
export class PendulumBackend implements SimBackend<PendulumState, PendulumSetpoint> {
  private current: PendulumState = { theta: 0, thetaDot: 0 };
  private readonly pivot = [0, 0, 1.5];

  constructor(
    readonly g: number = 10,
    private readonly sceneName = 'pendulum',
  ) {}

  reset(rng: Rng): PendulumState {
    // np_random.uniform(low=[-π, -1], high=[π, 1]): θ first, then θ̇.
    const theta = rng.uniform(-Math.PI, Math.PI);
    const thetaDot = rng.uniform(-1, 1);
    this.current = { theta, thetaDot };
    return this.current;
  }

  advance(setpoint: PendulumSetpoint, dt: number): PendulumState {
    const { m, l, maxSpeed, maxTorque } = PENDULUM;
    const u = clip(setpoint.torque, -maxTorque, maxTorque);
    const { theta, thetaDot } = this.current;
    let newThetaDot = thetaDot + ((3 * this.g) / (2 * l) * Math.sin(theta) + (3.0 / (m * l * l)) * u) * dt;
    newThetaDot = clip(newThetaDot, -maxSpeed, maxSpeed);
    const newTheta = theta + newThetaDot * dt;
    // A fresh object per step, so that `prev` handed to reward() is never mutated.
    this.current = { theta: newTheta, thetaDot: newThetaDot };
    return this.current;
  }

  state(): PendulumState {
    return this.current;
  }

  /** Put the system in a given state (tests, replaying telemetry). */
  setState(state: PendulumState): PendulumState {
    this.current = { ...state };
    return this.current;
  }

  describe(): SceneDescription {
    const [px, py, pz] = this.pivot;
    return {
      scene: this.sceneName,
      task: 'pendulum',
      bounds: [-1.5, -0.5, 0, 1.5, 0.5, 3],
      bodies: [
        { id: 0, name: 'pivot', shape: 'sphere', size: [0.06], color: '#222222', pose: [px, py, pz, 0, 0, 0, 1], dynamic: false, role: 'pivot' },
        { id: 1, name: 'rod', shape: 'capsule', size: [0.05, 0.9], color: '#cc4d4d', pose: this.rodPose(0), dynamic: true, role: 'pendulum' },
      ],
    };
  }

  /** The rod swings in the x–z plane: θ = 0 points up (+z), positive θ tips it towards −x. */
  private rodPose(theta: number): number[] {
    const [px, py, pz] = this.pivot;
    const half = PENDULUM.l / 2;
    // Rotation about y by φ = −θ maps +z to (−sin θ, 0, cos θ), Gymnasium's tip direction.
    const phi = -theta;
    return [px - Math.sin(theta) * half, py, pz + Math.cos(theta) * half, 0, Math.sin(phi / 2), 0, Math.cos(phi / 2)];
  }

  frame(state: PendulumState) {
    return {
      poses: Float32Array.from(this.rodPose(state.theta)),
      bodyIds: [1],
      hud: { angle: angleNormalize(state.theta), speed: state.thetaDot },
      overlay: {},
    };
  }

  close(): void {}
}

export function buildPendulum(scene: Pick<PendulumScene, 'name' | 'g' | 'maxEpisodeSteps'>): TaskBundle<PendulumState, PendulumSetpoint> {
  return {
    model: new PendulumModel(),
    backend: new PendulumBackend(scene.g, scene.name),
    controlPeriod: PENDULUM.dt,
    maxEpisodeSteps: scene.maxEpisodeSteps,
    // States are fresh objects each step and never mutated.
    snapshot: (s) => s,
  };
}

export const pendulumTaskKind: TaskKind<PendulumScene, PendulumState, PendulumSetpoint> = {
  id: 'pendulum',
  schema: pendulumSceneSchema,
  model: () => new PendulumModel(),
  simulate: (scene) => new PendulumBackend(scene.g, scene.name),
  controlPeriod: PENDULUM.dt,
  maxEpisodeSteps: (scene) => scene.maxEpisodeSteps,
  // States are fresh objects each step and never mutated.
  snapshot: (s) => s,
};
