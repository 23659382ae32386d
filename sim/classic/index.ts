/** The Gymnasium validation tasks, as task kinds for sim/registry.ts. */
export { pendulumTaskKind, PendulumModel, PendulumBackend, buildPendulum, angleNormalize, PENDULUM } from './pendulum.js';
export type { PendulumState, PendulumSetpoint, PendulumScene } from './pendulum.js';
export { cartpoleTaskKind, CartPoleModel, CartPoleBackend, buildCartPole, CARTPOLE } from './cartpole.js';
export type { CartPoleState, CartPoleSetpoint, CartPoleScene } from './cartpole.js';
