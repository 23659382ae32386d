import type { Action, EpisodeStats } from '../../src/core/env.js';
import type { Rng } from '../../src/core/rng.js';
import type { VectorEnv } from '../../src/core/vector-env.js';
import type { LearnHooks } from '../learner.js';
import { categoricalSample } from '../nn/index.js';
import type { RunningNormalizer } from '../policy/normalizer.js';
import type { PpoNets } from './nets.js';

/** One rollout's transitions, index t·N + i (obs and actions have an extra trailing dimension). */
export interface RolloutBuffer {
  /** Normalised observations the policy saw. */
  obs: Float32Array;
  actions: Float32Array;
  values: Float32Array;
  rewards: Float32Array;
  terminated: Uint8Array;
  truncated: Uint8Array;
  /** V(final obs) where an episode was truncated by its time limit (0 elsewhere). */
  truncationValues: Float32Array;
}

export function allocRollout(numSteps: number, numEnvs: number, obsSize: number, actionWidth: number): RolloutBuffer {
  const n = numSteps * numEnvs;
  return {
    obs: new Float32Array(n * obsSize),
    actions: new Float32Array(n * actionWidth),
    values: new Float32Array(n),
    rewards: new Float32Array(n),
    terminated: new Uint8Array(n),
    truncated: new Uint8Array(n),
    truncationValues: new Float32Array(n),
  };
}

/** Feed new raw observations to the running normaliser (SB3 VecNormalize updates on every new obs). */
export function observe(normalizer: RunningNormalizer | null, rows: Float32Array): void {
  normalizer?.updateRows(rows);
}

export function normalizeRows(normalizer: RunningNormalizer | null, rows: Float32Array): Float32Array {
  return normalizer ? normalizer.normalizeRows(rows) : rows.slice();
}

/**
 * Steps of the rollout between two yields to the event loop. A long synchronous rollout starves
 * the event loop (progress bars, signals), and on lavapipe/WebGPU it crashed the process
 * (segfault) unless the loop got to run; yielding does not change a single number.
 */
const YIELD_EVERY = 64;

export interface RolloutInput {
  vec: VectorEnv;
  nets: PpoNets;
  rng: Rng;
  normalizer: RunningNormalizer | null;
  buf: RolloutBuffer;
  numSteps: number;
  /** Raw observations of the N envs at the start, row-major. */
  obs: Float32Array;
  envSteps: number;
  hooks: LearnHooks;
}

/**
 * Step 1 of PPO: numSteps × numEnvs transitions with the current policy, into `buf`. Returns the
 * raw observations to continue from and the env step count. Every draw comes from `rng`, in the
 * same order whatever the vector env (sync or in worker threads).
 */
export async function collectRollout(p: RolloutInput): Promise<{ obs: Float32Array; envSteps: number }> {
  const { vec, nets, rng, normalizer, buf: b, numSteps: T } = p;
  const N = vec.numEnvs;
  const D = nets.obsSize;
  const A = nets.actionWidth;
  const std = nets.logStd ? Array.from(nets.logStd.dataSync() as Float32Array, (l) => Math.exp(l)) : null;
  let obs = p.obs;
  let envSteps = p.envSteps;
  b.truncationValues.fill(0);
  for (let t = 0; t < T; t++) {
    if (t > 0 && t % YIELD_EVERY === 0) await new Promise((r) => setImmediate(r));
    const x = normalizeRows(normalizer, obs);
    b.obs.set(x, t * N * D);
    const { out, values } = nets.forward(x, true);
    const actions: Action[] = [];
    if (nets.discrete) {
      const u = Float64Array.from({ length: N }, () => rng.next());
      const chosen = categoricalSample(out!, N, nets.actionSize, u);
      for (let i = 0; i < N; i++) {
        b.actions[t * N + i] = chosen[i];
        actions.push(chosen[i]);
      }
    } else {
      for (let i = 0; i < N; i++) {
        const envAction = new Float32Array(A);
        for (let j = 0; j < A; j++) {
          const a = out![i * A + j] + std![j] * rng.normal();
          b.actions[(t * N + i) * A + j] = a;
          // The env gets the sample clipped to the action box; the update scores the unclipped one.
          envAction[j] = Math.min(1, Math.max(-1, a));
        }
        actions.push(envAction);
      }
    }
    b.values.set(values, t * N);
    const res = vec.step(actions);
    envSteps += N;
    b.rewards.set(res.rewards, t * N);
    b.terminated.set(res.terminated, t * N);
    b.truncated.set(res.truncated, t * N);
    const truncatedEnvs: number[] = [];
    for (let i = 0; i < N; i++) {
      if (res.truncated[i] && !res.terminated[i]) truncatedEnvs.push(i);
      if (res.terminated[i] || res.truncated[i]) {
        const stats = (res.infos[i].finalInfo as { episode?: EpisodeStats } | undefined)?.episode;
        if (stats) p.hooks.episode(envSteps, stats);
      }
    }
    if (truncatedEnvs.length) {
      // Time limit: the final observation still has value; bootstrap from it (normalised, no update).
      const finals = new Float32Array(truncatedEnvs.length * D);
      truncatedEnvs.forEach((i, r) => finals.set(normalizeRows(normalizer, res.infos[i].finalObs as Float32Array), r * D));
      const { values: vFinal } = nets.forward(finals, false);
      truncatedEnvs.forEach((i, r) => (b.truncationValues[t * N + i] = vFinal[r]));
    }
    obs = res.obs;
    observe(normalizer, obs);
  }
  return { obs, envSteps };
}
