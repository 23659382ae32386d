import type { Action, EnvSpec } from './env.js';

/**
 * A Controller turns observations into actions. It may keep history (the decision
 * transformer does), which `reset()` clears at the start of each episode.
 *
 * Controllers see only the observation, so the same controller drives the simulator and
 * a real robot. One that needs privileged simulator state says so with
 * `privileged: true` and receives it as the second argument to `act`.
 */
export interface Controller {
  /** e.g. "greedy", "sac", "ppo". */
  readonly kind: string;
  readonly privileged?: boolean;
  reset(): void;
  act(obs: Float32Array, state?: unknown): Action;
  /**
   * The reward that followed the last action. Controllers conditioned on a return-to-go
   * (the decision transformer: R̂_{t+1} = R̂_t − r_t) use it; rollouts call it after each step.
   */
  observeReward?(reward: number): void;
  /** Free tensors, if any. */
  dispose?(): void;
}

/** How controllers are made by name: each receives the env spec and any task-specific context. */
export type ControllerFactory = (spec: EnvSpec, context: ControllerContext) => Controller;

export interface ControllerContext {
  seed: number;
  /** The task's pure model (limits, geometry), for scripted controllers that plan in physical units. */
  model?: unknown;
  /**
   * Controller options, `key → value` as given on the command line (`--controller-opt key=value`):
   * e.g. `policy` (the waypoint policy of nav-learned), `lookahead` (m), `targetReturn` (DT).
   * The only way options reach a controller: controllers read no environment variables.
   */
  options?: Record<string, string>;
}
