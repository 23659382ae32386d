/**
 * The critic agent's hyper-parameters, in one place: the acting rules (candidates.ts, agent.ts)
 * and the training loop (train-critic.ts) both read them. Paper values where it gives them
 * (Yang et al., "A Deep Learning Approach to Grasping the Invisible").
 */
export const HP = {
  gamma: 0.5, // future discount (paper)
  epsilon0: 0.5, // ε = epsilon0 · epsilonDecay^t + epsilonMin (paper)
  epsilonDecay: 0.998,
  epsilonMin: 0.05,
  lr: 1e-3, // Adam on the critic (paper: SGD 1e-4 with momentum on DenseNet; ours is tiny and from scratch)
  replayPerStep: 3, // prioritised replay samples trained with each new sample
  priorityAlpha: 0.6, // sample ∝ (|pred − y| + 0.02)^α
  changedPixels: 10, // the heightmap changed when ≥ this many pixels moved by > 1 cm
  coordinatorEvery: 50, // motions between coordinator fits
  pushRegion: 0.08, // target-oriented pushes start within this distance of the target, m
  pushEdgeMargin: 0.06, // pushes must end this far inside the workspace, or the target may be pushed out, m
};

/**
 * Whether a motion changed the scene: ≥ HP.changedPixels of the first `n` heightmap pixels moved
 * by more than 1 cm. It gates the bootstrapped label in training (y = r + γ·max Q(s′) only then)
 * and the stuck switch in acting, so both read one definition.
 */
export function heightmapChanged(a: ArrayLike<number>, b: ArrayLike<number>, n: number): boolean {
  let moved = 0;
  for (let i = 0; i < n; i++) if (Math.abs(a[i] - b[i]) > 0.01) moved++;
  return moved >= HP.changedPixels;
}
