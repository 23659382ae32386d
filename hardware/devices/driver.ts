import type { SetpointWire } from '../protocol.js';

/**
 * What the on-robot runtime needs from a device. A robot team implements these four calls
 * (plus `close`) for its autopilot or motor controller; everything else (MQTT, safety,
 * policy inference) is the agent's.
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
  /** Simulated devices only: start the next episode. */
  nextEpisode?(): Promise<Record<string, unknown>> | Record<string, unknown>;
  /** Episode bookkeeping, for simulated devices that have episodes. */
  episodeInfo?(): { index: number; step: number; terminated: boolean; truncated: boolean; reason?: string };
  close?(): Promise<void> | void;
}

export interface StepOutcome {
  state: Record<string, unknown>;
  terminated: boolean;
  truncated: boolean;
  reason?: string;
}

export type DriverFactory = (options: Record<string, unknown>) => Promise<Driver>;

/** Drivers by name; each loads lazily. Add a real device's driver here. */
export const DRIVERS: Record<string, { description: string; load: () => Promise<DriverFactory> }> = {
  sim: {
    description: 'a Rapier world built from --scene, advanced one control period per command (lockstep)',
    load: async () => (await import('./sim.js')).createSimDriver as DriverFactory,
  },
};

export async function createDriver(name: string, options: Record<string, unknown>): Promise<Driver> {
  const entry = DRIVERS[name];
  if (!entry) throw new Error(`unknown driver "${name}". Known: ${Object.keys(DRIVERS).join(', ')}`);
  return (await entry.load())(options);
}

/** State → JSON-safe telemetry (typed arrays become arrays; a deep copy, so later physics cannot change it). */
export function toTelemetry(state: unknown): Record<string, unknown> {
  return JSON.parse(JSON.stringify(state, (_k, v) => (ArrayBuffer.isView(v) && !(v instanceof DataView) ? Array.from(v as unknown as ArrayLike<number>) : v)));
}
