import { describe, expect, it } from 'vitest';
import type { Action, Env, EnvSpec, StepResult } from './env.js';
import { Box } from './spaces.js';
import { SyncVectorEnv } from './vector-env.js';

/** A counting env (a fake of our own part): obs = [episode, t]; ends after `len` steps. */
class CountEnv implements Env {
  readonly spec: EnvSpec;
  private t = 0;
  private episode = -1;
  constructor(private readonly len: number, private readonly terminal: boolean) {
    this.spec = { id: 'count', scene: 'count', observationSpace: new Box(-1e9, 1e9, [2]), actionSpace: new Box(-1, 1, [1]), controlPeriod: 1, maxEpisodeSteps: len };
  }
  reset() {
    this.t = 0;
    this.episode++;
    return { obs: new Float32Array([this.episode, 0]), info: { started: this.episode } };
  }
  step(_a: Action): StepResult {
    this.t++;
    const end = this.t >= this.len;
    return { obs: new Float32Array([this.episode, this.t]), reward: 1, terminated: end && this.terminal, truncated: end && !this.terminal, info: { t: this.t } };
  }
  close() {}
}

describe('SyncVectorEnv autoreset', () => {
  it('resets an ended env in the same step and keeps its final observation in info.finalObs', () => {
    const venv = new SyncVectorEnv([new CountEnv(2, true), new CountEnv(3, false)]);
    const a = [new Float32Array([0]), new Float32Array([0])];
    const r0 = venv.reset({ seed: 0 });
    expect(Array.from(r0.obs)).toEqual([0, 0, 0, 0]);
    venv.step(a);
    const r2 = venv.step(a); // env 0 ends here (terminated)
    expect(r2.terminated[0]).toBe(1);
    expect(r2.truncated[0]).toBe(0);
    expect(Array.from(r2.infos[0].finalObs as Float32Array)).toEqual([0, 2]);
    expect(Array.from(r2.obs.slice(0, 2))).toEqual([1, 0]); // first obs of episode 1
    expect(r2.infos[1].finalObs).toBeUndefined();
    const r3 = venv.step(a); // env 1 ends here by time limit (truncated)
    expect(r3.truncated[1]).toBe(1);
    expect(r3.terminated[1]).toBe(0);
    expect(Array.from(r3.infos[1].finalObs as Float32Array)).toEqual([0, 3]);
    expect(Array.from(r3.obs.slice(2, 4))).toEqual([1, 0]);
  });

  it('rejects a wrong number of actions', () => {
    const venv = new SyncVectorEnv([new CountEnv(2, true)]);
    venv.reset();
    expect(() => venv.step([])).toThrow(/expected 1 actions/);
  });
});
