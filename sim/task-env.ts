import type { Action, Env, EnvSpec, EnvState, ResetResult, StepResult } from '../src/core/env.js';
import { ContractError } from '../src/core/errors.js';
import type { Frame } from '../src/core/frames.js';
import { Rng } from '../src/core/rng.js';
import type { TaskBundle } from './task.js';

/**
 * The Env a TaskModel and a SimBackend make together. It adds the time limit
 * (truncation, never termination) and the per-episode statistics in `info.episode`.
 */
export class TaskEnv<State = unknown, Setpoint = unknown> implements Env {
  readonly spec: EnvSpec;
  private rng: Rng;
  private current: State | null = null;
  private steps = 0;
  private episodeReturn = 0;
  private lastReward = 0;
  private readonly obsBuf: Float32Array;

  constructor(
    readonly bundle: TaskBundle<State, Setpoint>,
    scene: string,
    seed = 0,
  ) {
    const { model } = bundle;
    this.spec = {
      id: model.id,
      scene,
      observationSpace: model.observationSpace,
      actionSpace: model.actionSpace,
      controlPeriod: bundle.controlPeriod,
      maxEpisodeSteps: bundle.maxEpisodeSteps,
    };
    this.rng = new Rng(seed);
    this.obsBuf = new Float32Array(model.observationSpace.size);
  }

  get model() {
    return this.bundle.model;
  }

  get state(): State {
    if (this.current === null) throw new ContractError('env.state read before reset()');
    return this.current;
  }

  get stepCount(): number {
    return this.steps;
  }

  /** True when the task's backend can be put back into a saved state (the classic tasks can). */
  get canRestore(): boolean {
    return typeof this.bundle.backend.setState === 'function';
  }

  /** The env's whole mid-episode state (JSON-safe): setState(getState()) then the same actions gives the same steps. */
  getState(): EnvState {
    if (!this.canRestore) throw new ContractError(`env ${this.spec.id}: its simulator cannot restore a state (no SimBackend.setState)`);
    if (this.current === null) throw new ContractError('env.getState() called before reset()');
    return {
      rng: this.rng.getState(),
      state: JSON.parse(JSON.stringify(this.current)),
      steps: this.steps,
      episodeReturn: this.episodeReturn,
      lastReward: this.lastReward,
    };
  }

  setState(state: EnvState): void {
    const setBackend = this.bundle.backend.setState;
    if (!setBackend) throw new ContractError(`env ${this.spec.id}: its simulator cannot restore a state (no SimBackend.setState)`);
    this.current = setBackend.call(this.bundle.backend, JSON.parse(JSON.stringify(state.state)) as State);
    this.rng.setState(state.rng);
    this.steps = state.steps;
    this.episodeReturn = state.episodeReturn;
    this.lastReward = state.lastReward;
  }

  /** What a policy artifact records of its task (manifest `task`): limits, timing, and the scene it is built from. */
  taskParams(sceneConfig: Record<string, unknown> | null = null) {
    const { limits } = this.bundle.model;
    return {
      limits: JSON.parse(JSON.stringify(limits)) as typeof limits,
      controlPeriod: this.bundle.controlPeriod,
      maxEpisodeSteps: this.bundle.maxEpisodeSteps,
      sceneConfig,
    };
  }

  reset(options: { seed?: number } = {}): ResetResult {
    if (options.seed !== undefined) this.rng = new Rng(options.seed);
    // A fresh child stream per episode: the episode depends only on (seed, episode index).
    this.current = this.bundle.backend.reset(this.rng.fork());
    this.steps = 0;
    this.episodeReturn = 0;
    this.lastReward = 0;
    const obs = this.bundle.model.observe(this.current, this.obsBuf).slice();
    return { obs, info: {} };
  }

  step(action: Action): StepResult {
    if (this.current === null) throw new ContractError('env.step() called before reset()');
    const { model, backend } = this.bundle;
    const prev = this.bundle.snapshot(this.current);
    const setpoint = model.toSetpoint(action);
    const next = backend.advance(setpoint, this.bundle.controlPeriod);
    this.current = next;
    this.steps++;
    const reward = model.reward(prev, next, setpoint);
    const done = model.done(next);
    const terminated = done.terminated;
    const truncated = !terminated && this.steps >= this.bundle.maxEpisodeSteps;
    this.episodeReturn += reward;
    this.lastReward = reward;
    const obs = model.observe(next, this.obsBuf).slice();
    const info: Record<string, unknown> = {};
    if (terminated || truncated) {
      info.episode = {
        return: this.episodeReturn,
        length: this.steps,
        metrics: model.metrics(next),
      };
      info.endReason = done.reason ?? (truncated ? 'time-limit' : undefined);
    }
    return { obs, reward, terminated, truncated, info };
  }

  /** The frame of the current state, for the viewer and recorder. */
  frame(episode: number): Frame {
    const f = this.bundle.backend.frame(this.state);
    return {
      t: this.steps * this.bundle.controlPeriod,
      episode,
      reward: this.lastReward,
      return: this.episodeReturn,
      ...f,
    };
  }

  describe() {
    return this.bundle.backend.describe();
  }

  close(): void {
    this.bundle.backend.close();
  }
}
