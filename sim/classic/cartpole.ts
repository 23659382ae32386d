/**
 * CartPole-v1, ported from Gymnasium (gymnasium/envs/classic_control/cartpole.py), after
 * Barto, Sutton & Anderson 1983, "Neuronlike adaptive elements that can solve difficult
 * learning control problems". Push a cart left or right to keep a pole upright.
 *
 * | | |
 * | --- | --- |
 * | Observation | Box(4): [x, ẋ, θ, θ̇]; bounds [±4.8, ±f32max, ±0.418 rad, ±f32max]; θ = 0 is upright, positive leans to +x |
 * | Action | Discrete(2): 0 pushes the cart left (−10 N), 1 pushes it right (+10 N) |
 * | Reward | +1 for every step, the terminating step included |
 * | Start state | x, ẋ, θ, θ̇ each ~ U[−0.05, 0.05], drawn in that order from the episode's Rng |
 * | Episode end | terminated when |x| > 2.4 or |θ| > 12° (0.2095 rad); truncated at 500 steps (TaskEnv, `maxEpisodeSteps`) |
 *
 * Constants: g 9.8, cart 1.0 kg, pole 0.1 kg, half-length 0.5 m, force 10 N, τ 0.02 s, explicit Euler.
 *   temp = (F + m_p·l·θ̇²·sin θ)/M
 *   θ̈ = (g·sin θ − cos θ·temp)/(l·(4/3 − m_p·cos²θ/M))
 *   ẍ = temp − m_p·l·θ̈·cos θ/M
 * then x += τ·ẋ, ẋ += τ·ẍ, θ += τ·θ̇, θ̇ += τ·θ̈ (positions from the OLD velocities).
 */
import { z } from 'zod';
import { finiteNumber, parseSetpointWith } from '../setpoint.js';
import type { Fence, Point3 } from '../task.js';
import type { Action } from '../../src/core/env.js';
import { ContractError } from '../../src/core/errors.js';
import type { SceneDescription } from '../../src/core/frames.js';
import type { Rng } from '../../src/core/rng.js';
import { Box, Discrete } from '../../src/core/spaces.js';
import { posInt, sceneBase } from '../scene.js';
import type { SimBackend, TaskBundle, TaskKind, TaskModel } from '../task.js';

export const CARTPOLE = {
  gravity: 9.8,
  massCart: 1.0,
  massPole: 0.1,
  totalMass: 1.1,
  /** Half the pole's length, m. */
  length: 0.5,
  poleMassLength: 0.1 * 0.5,
  forceMag: 10.0,
  tau: 0.02,
  thetaThreshold: (12 * 2 * Math.PI) / 360,
  xThreshold: 2.4,
} as const;

const F32_MAX = 3.4028234663852886e38;

export const cartpoleSceneSchema = z.strictObject({
  ...sceneBase,
  task: z.literal('cartpole'),
  maxEpisodeSteps: posInt().default(500),
});
export type CartPoleScene = z.infer<typeof cartpoleSceneSchema>;

export interface CartPoleState {
  x: number;
  xDot: number;
  theta: number;
  thetaDot: number;
}

export interface CartPoleSetpoint {
  /** Horizontal force on the cart, N: ±10. */
  force: number;
}

export class CartPoleModel implements TaskModel<CartPoleState, CartPoleSetpoint> {
  readonly id = 'CartPole-v1';
  readonly observationSpace = new Box(
    [-CARTPOLE.xThreshold * 2, -F32_MAX, -CARTPOLE.thetaThreshold * 2, -F32_MAX],
    [CARTPOLE.xThreshold * 2, F32_MAX, CARTPOLE.thetaThreshold * 2, F32_MAX],
  );
  readonly actionSpace = new Discrete(2);
  readonly limits = {
    setpoint: { force: [-CARTPOLE.forceMag, CARTPOLE.forceMag] as [number, number] },
    geofence: [-CARTPOLE.xThreshold, -1, -1, CARTPOLE.xThreshold, 1, 1],
  };

  observe(state: CartPoleState, out: Float32Array = new Float32Array(4)): Float32Array {
    out[0] = state.x;
    out[1] = state.xDot;
    out[2] = state.theta;
    out[3] = state.thetaDot;
    return out;
  }

  /** No fence: a force on a cart: the track limit (|x| > 2.4 m) ends the episode; a real cart needs end stops. */
  readonly fence: Fence = { kind: 'none', reason: 'a force on a cart: the track limit (|x| > 2.4 m) ends the episode; a real cart needs end stops' };

  parseSetpoint(raw: unknown): CartPoleSetpoint {
    return parseSetpointWith('cartpole', z.strictObject({ force: finiteNumber }), raw);
  }

  position(): Point3 | null {
    return null;
  }

  reach(): Point3[] {
    return [];
  }

  toSetpoint(action: Action): CartPoleSetpoint {
    const a = typeof action === 'number' ? action : action[0];
    // Gymnasium asserts action_space.contains(action); a learner bug should fail loudly too.
    if (a !== 0 && a !== 1) throw new ContractError(`CartPole-v1: action must be 0 or 1, got ${a}`);
    return { force: a === 1 ? CARTPOLE.forceMag : -CARTPOLE.forceMag };
  }

  /** No force: the closest thing to "stop" a cart-pole has. */
  holdSetpoint(): CartPoleSetpoint {
    return { force: 0 };
  }

  reward(): number {
    return 1.0;
  }

  done(state: CartPoleState) {
    const { xThreshold, thetaThreshold } = CARTPOLE;
    if (state.x < -xThreshold || state.x > xThreshold) return { terminated: true, reason: 'cart-out-of-bounds' };
    if (state.theta < -thetaThreshold || state.theta > thetaThreshold) return { terminated: true, reason: 'pole-fell' };
    return { terminated: false };
  }

  metrics(state: CartPoleState): Record<string, number> {
    return { finalX: state.x, finalTheta: state.theta };
  }
}

/** The reference equations with explicit Euler, one integration step per control period. */
export class CartPoleBackend implements SimBackend<CartPoleState, CartPoleSetpoint> {
  private current: CartPoleState = { x: 0, xDot: 0, theta: 0, thetaDot: 0 };
  /** Height of the pole's pivot (top of the cart), for drawing. */
  private readonly pivotZ = 0.4;

  constructor(private readonly sceneName = 'cartpole') {}

  reset(rng: Rng): CartPoleState {
    // np_random.uniform(-0.05, 0.05, size=(4,)) fills x, ẋ, θ, θ̇ in order.
    const x = rng.uniform(-0.05, 0.05);
    const xDot = rng.uniform(-0.05, 0.05);
    const theta = rng.uniform(-0.05, 0.05);
    const thetaDot = rng.uniform(-0.05, 0.05);
    this.current = { x, xDot, theta, thetaDot };
    return this.current;
  }

  /** `dt` is the control period; Gymnasium's τ = 0.02 is one Euler step of it. */
  advance(setpoint: CartPoleSetpoint, dt: number): CartPoleState {
    const { gravity, massPole, totalMass, length, poleMassLength } = CARTPOLE;
    const { x, xDot, theta, thetaDot } = this.current;
    const force = setpoint.force;
    const cosTheta = Math.cos(theta);
    const sinTheta = Math.sin(theta);
    const temp = (force + poleMassLength * thetaDot ** 2 * sinTheta) / totalMass;
    const thetaAcc = (gravity * sinTheta - cosTheta * temp) / (length * (4.0 / 3.0 - (massPole * cosTheta ** 2) / totalMass));
    const xAcc = temp - (poleMassLength * thetaAcc * cosTheta) / totalMass;
    this.current = {
      x: x + dt * xDot,
      xDot: xDot + dt * xAcc,
      theta: theta + dt * thetaDot,
      thetaDot: thetaDot + dt * thetaAcc,
    };
    return this.current;
  }

  state(): CartPoleState {
    return this.current;
  }

  /** Put the system in a given state (tests, replaying telemetry). */
  setState(state: CartPoleState): CartPoleState {
    this.current = { ...state };
    return this.current;
  }

  describe(): SceneDescription {
    const s = { x: 0, xDot: 0, theta: 0, thetaDot: 0 };
    const [cart, pole] = this.poses(s);
    return {
      scene: this.sceneName,
      task: 'cartpole',
      bounds: [-2.4, -0.5, 0, 2.4, 0.5, 1.6],
      bodies: [
        { id: 0, name: 'track', shape: 'box', size: [4.8, 0.05, 0.02], color: '#444444', pose: [0, 0, 0.14, 0, 0, 0, 1], dynamic: false, role: 'ground' },
        { id: 1, name: 'cart', shape: 'box', size: [0.5, 0.3, 0.3], color: '#222222', pose: cart, dynamic: true, role: 'cart' },
        { id: 2, name: 'pole', shape: 'capsule', size: [0.04, 2 * CARTPOLE.length - 0.08], color: '#ca9865', pose: pole, dynamic: true, role: 'pole' },
      ],
    };
  }

  /** Cart centre and pole pose. The pole swings in the x–z plane; θ > 0 leans it to +x. */
  private poses(state: CartPoleState): [number[], number[]] {
    const l = CARTPOLE.length;
    const cart = [state.x, 0, this.pivotZ - 0.15, 0, 0, 0, 1];
    // Rotation about y by θ maps +z to (sin θ, 0, cos θ).
    const pole = [state.x + Math.sin(state.theta) * l, 0, this.pivotZ + Math.cos(state.theta) * l, 0, Math.sin(state.theta / 2), 0, Math.cos(state.theta / 2)];
    return [cart, pole];
  }

  frame(state: CartPoleState) {
    const [cart, pole] = this.poses(state);
    return {
      poses: Float32Array.from([...cart, ...pole]),
      bodyIds: [1, 2],
      hud: { x: state.x, angleDeg: (state.theta * 180) / Math.PI },
      overlay: {},
    };
  }

  close(): void {}
}

export function buildCartPole(scene: Pick<CartPoleScene, 'name' | 'maxEpisodeSteps'>): TaskBundle<CartPoleState, CartPoleSetpoint> {
  return {
    model: new CartPoleModel(),
    backend: new CartPoleBackend(scene.name),
    controlPeriod: CARTPOLE.tau,
    maxEpisodeSteps: scene.maxEpisodeSteps,
    // States are fresh objects each step and never mutated.
    snapshot: (s) => s,
  };
}

export const cartpoleTaskKind: TaskKind<CartPoleScene, CartPoleState, CartPoleSetpoint> = {
  id: 'cartpole',
  schema: cartpoleSceneSchema,
  model: () => new CartPoleModel(),
  simulate: (scene) => new CartPoleBackend(scene.name),
  controlPeriod: CARTPOLE.tau,
  maxEpisodeSteps: (scene) => scene.maxEpisodeSteps,
  // States are fresh objects each step and never mutated.
  snapshot: (s) => s,
};
