import type { SetpointWire } from '../protocol.js';

/**
 * What the on-robot runtime needs from a device. A robot team implements these four calls
 * (plus `close`) for its autopilot or motor controller; everything else (MQTT, safety,
 * policy inference) is the agent's. The registry of drivers by name is `registry.ts`.
 */
export interface Driver {
  readonly name: string;
  /** Current telemetry: the task's State as plain JSON (arrays, numbers, booleans). */
  readState(): Promise<Record<string, unknown>> | Record<string, unknown>;
  /** Track this setpoint until the next call (units of the task: m/s for the UAV). */
  sendSetpoint(setpoint: SetpointWire): Promise<void> | void;
  /** Stop moving and keep position (hover for a drone, brake for a rover). */
  hold(): Promise<void> | void;
  /** Bring the device to rest for good: land a drone, disarm a rover. */
  stop(): Promise<void> | void;
  /**
   * Lockstep devices only (the simulator): advance one control period with the last
   * setpoint and return the new telemetry. Real devices run on their own clock and leave
   * this out.
   */
  step?(): Promise<StepOutcome> | StepOutcome;
  /** Simulated devices only: where the episode stands, sent with each state. */
  episodeInfo?(): EpisodeInfo;
  /**
   * Simulated devices only: `step` said the episode is over. The device counts and sums it up,
   * and starts the next one unless it has run all the episodes it was asked for.
   */
  endEpisode?(): Promise<EpisodeEnd> | EpisodeEnd;
  close?(): Promise<void> | void;
}

export interface StepOutcome {
  state: Record<string, unknown>;
  terminated: boolean;
  truncated: boolean;
  reason?: string;
}

/** The `episode` a simulated device adds to its state (protocol.ts `episodeInfoSchema`). */
export interface EpisodeInfo {
  index: number;
  step: number;
  terminated: boolean;
  truncated: boolean;
  reason?: string;
}

export interface EpisodeEnd {
  /** Index of the episode that ended, its length in steps, and why. */
  index: number;
  steps: number;
  reason?: string;
  /** The task's metrics at its last state; null when they cannot be computed (they are for the log). */
  metrics: Record<string, number> | null;
  /** Episodes completed so far, this one included. */
  episodesDone: number;
  /** Telemetry of the next episode's first state, or null when the device has run all its episodes. */
  next: Record<string, unknown> | null;
}

export type DriverFactory = (options: Record<string, unknown>) => Promise<Driver>;

/** State → JSON-safe telemetry (typed arrays become arrays; a deep copy, so later physics cannot change it). */
export function toTelemetry(state: unknown): Record<string, unknown> {
  return JSON.parse(JSON.stringify(state, (_k, v) => (ArrayBuffer.isView(v) && !(v instanceof DataView) ? Array.from(v as unknown as ArrayLike<number>) : v)));
}
