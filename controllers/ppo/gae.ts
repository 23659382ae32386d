/**
 * Generalized Advantage Estimation (Schulman et al. 2016, "High-Dimensional Continuous Control
 * Using Generalized Advantage Estimation", eq. 16), over a rollout of T steps × N envs stored
 * row-major by step (index t·N + i), with Gymnasium's terminated/truncated split:
 *
 *   δ_t = r_t + γ·V_next − V(s_t),   A_t = δ_t + γλ·(1 − end_t)·A_{t+1},   R_t = A_t + V(s_t)
 *
 * where V_next is
 *   - 0 when the episode terminated at t (a terminal state has no future),
 *   - V(final observation) when it was truncated at t (time limit: the future still has value;
 *     the vector env has already reset, so the next row holds a NEW episode's observation),
 *   - V(s_{t+1}) otherwise, and `lastValues` after the last step.
 * This is Stable-Baselines3's treatment (reward += γ·V(terminal_obs) on timeouts), written out.
 */
export interface GaeInput {
  numSteps: number;
  numEnvs: number;
  rewards: Float32Array;
  /** V(s_t) of the observation the action was taken from. */
  values: Float32Array;
  /** 1 when the episode ended at step t by termination. */
  terminated: Uint8Array;
  /** 1 when the episode ended at step t by truncation (and did not terminate). */
  truncated: Uint8Array;
  /** V(final observation) where truncated[t·N+i] is set; ignored elsewhere. */
  truncationValues: Float32Array;
  /** V(s_T) of the observation after the last step, per env. */
  lastValues: Float32Array;
  gamma: number;
  lambda: number;
}

export function computeGae(x: GaeInput): { advantages: Float32Array; returns: Float32Array } {
  const { numSteps: T, numEnvs: N, gamma, lambda } = x;
  const advantages = new Float32Array(T * N);
  const returns = new Float32Array(T * N);
  for (let i = 0; i < N; i++) {
    // Accumulate in float64; store float32.
    let nextAdvantage = 0;
    for (let t = T - 1; t >= 0; t--) {
      const k = t * N + i;
      const ended = x.terminated[k] || x.truncated[k];
      let nextValue: number;
      if (x.terminated[k]) nextValue = 0;
      else if (x.truncated[k]) nextValue = x.truncationValues[k];
      else nextValue = t === T - 1 ? x.lastValues[i] : x.values[k + N];
      const delta = x.rewards[k] + gamma * nextValue - x.values[k];
      const adv = delta + gamma * lambda * (ended ? 0 : nextAdvantage);
      advantages[k] = adv;
      returns[k] = adv + x.values[k];
      nextAdvantage = adv;
    }
  }
  return { advantages, returns };
}
