import { createEnv } from '../../sim/registry.js';
import type { TaskEnv } from '../../sim/task-env.js';
import type { SetpointWire } from '../protocol.js';
import { toTelemetry, type Driver, type EpisodeEnd, type EpisodeInfo, type StepOutcome } from './driver.js';

/**
 * The `sim` driver: a scene's Rapier world standing in for a robot. It is lockstep: each
 * `step()` advances exactly one control period with the last setpoint, so an episode driven
 * over MQTT sees the same states as `embody run` with the same seed, whatever the network
 * latency. Episode i resets with seed + i, as `embody run` does. The episodes are the
 * device's own business: it counts them and stops after `episodes` (the agent only hears
 * that one ended, and whether another follows).
 */
export interface SimDriverOptions {
  scene: string;
  seed?: number;
  /** Run this many episodes, then start no other (default: run forever). */
  episodes?: number;
}

export class SimDriver implements Driver {
  readonly name = 'sim';
  private setpoint: SetpointWire;
  private steps = 0;
  private episode = 0;
  private last: StepOutcome;
  private landing = false;
  /** Episodes completed. */
  episodesDone = 0;

  private constructor(
    readonly env: TaskEnv,
    private readonly seed: number,
    private readonly episodes: number | undefined,
  ) {
    env.reset({ seed });
    this.setpoint = this.holdSetpoint();
    this.last = { state: toTelemetry(env.state), terminated: false, truncated: false };
  }

  static async create(options: SimDriverOptions): Promise<SimDriver> {
    const seed = options.seed ?? 0;
    const env = await createEnv(options.scene, { seed });
    return new SimDriver(env, seed, options.episodes);
  }

  get model() {
    return this.env.model;
  }

  get controlPeriod(): number {
    return this.env.bundle.controlPeriod;
  }

  readState(): Record<string, unknown> {
    return this.last.state;
  }

  /**
   * Track `setpoint`. It is parsed again with the task's own schema (the agent's guard already
   * did): a driver never converts a string or passes NaN to the physics. A refused one holds.
   */
  sendSetpoint(setpoint: SetpointWire): void {
    this.landing = false;
    try {
      this.setpoint = this.env.model.parseSetpoint(setpoint) as SetpointWire;
    } catch {
      this.setpoint = this.holdSetpoint();
    }
  }

  hold(): void {
    this.landing = false;
    this.setpoint = this.holdSetpoint();
  }

  /** Land: descend at 1 m/s (or the task's hold when it has no vertical axis) until near the ground. */
  stop(): void {
    this.landing = true;
    this.setpoint = this.landSetpoint();
  }

  step(): StepOutcome {
    if (this.last.terminated || this.last.truncated) return this.last;
    if (this.landing) this.setpoint = this.landSetpoint();
    const { bundle } = this.env;
    const next = bundle.backend.advance(this.setpoint as never, bundle.controlPeriod);
    this.steps++;
    const done = bundle.model.done(next);
    const truncated = !done.terminated && this.steps >= bundle.maxEpisodeSteps;
    this.last = {
      state: toTelemetry(next),
      terminated: done.terminated,
      truncated,
      reason: done.reason ?? (truncated ? 'time-limit' : undefined),
    };
    return this.last;
  }

  /** Count the episode `step` ended, sum it up, and start the next one unless all have run. */
  endEpisode(): EpisodeEnd {
    this.episodesDone++;
    const { index, step, reason } = this.episodeInfo();
    let metrics: Record<string, number> | null = null;
    try {
      const { model } = this.env;
      metrics = model.metrics(model.parseState ? model.parseState(this.last.state) : this.last.state);
    } catch {
      // metrics are for the log only
    }
    const more = this.episodes === undefined || this.episodesDone < this.episodes;
    return { index, steps: step, reason, metrics, episodesDone: this.episodesDone, next: more ? this.nextEpisode() : null };
  }

  private nextEpisode(): Record<string, unknown> {
    this.episode++;
    this.env.reset({ seed: this.seed + this.episode });
    this.steps = 0;
    this.landing = false;
    this.setpoint = this.holdSetpoint();
    this.last = { state: toTelemetry(this.env.state), terminated: false, truncated: false };
    return this.last.state;
  }

  episodeInfo(): EpisodeInfo {
    return { index: this.episode, step: this.steps, terminated: this.last.terminated, truncated: this.last.truncated, reason: this.last.reason };
  }

  /** The setpoint the sim is tracking now (tests check what was executed). */
  get currentSetpoint(): SetpointWire {
    return this.setpoint;
  }

  get seedUsed(): number {
    return this.seed;
  }

  close(): void {
    this.env.close();
  }

  private holdSetpoint(): SetpointWire {
    return this.env.model.holdSetpoint(this.env.bundle.backend.state()) as SetpointWire;
  }

  private landSetpoint(): SetpointWire {
    const hold = this.holdSetpoint();
    if (!('vz' in hold)) return hold;
    const z = this.env.model.position(this.env.bundle.backend.state())?.[2] ?? 0;
    return { ...hold, vz: z > 0.5 ? -1 : 0 };
  }
}

/** The registry's factory: options come from the command line, so they are checked here. */
export function createSimDriver(options: Record<string, unknown>): Promise<SimDriver> {
  const { scene, seed, episodes } = options;
  if (typeof scene !== 'string' || !scene) throw new Error('sim driver: a scene is needed (--scene)');
  if (seed !== undefined && !Number.isInteger(seed)) throw new Error(`sim driver: seed must be an integer, got ${String(seed)}`);
  if (episodes !== undefined && !(Number.isInteger(episodes) && (episodes as number) >= 1)) throw new Error(`sim driver: episodes must be a whole number ≥ 1, got ${String(episodes)}`);
  return SimDriver.create({ scene, seed: seed as number | undefined, episodes: episodes as number | undefined });
}
