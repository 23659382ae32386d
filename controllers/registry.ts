import type { Controller, ControllerContext } from '../src/core/controller.js';
import type { EnvSpec } from '../src/core/env.js';
import { NotFoundError } from '../src/core/errors.js';
import type { Learner, LearnerOptions } from './learner.js';

export type { LearnerOptions };

/**
 * Controllers and learners by name. Scripted controllers register in SCRIPTED; learners in
 * LEARNERS. Each entry loads its module lazily, so naming a scripted controller never
 * loads TensorFlow.js.
 */
/** A factory may be async: nav-learned loads its waypoint policy (through the policy loader). */
export type ScriptedFactory = (spec: EnvSpec, context: ControllerContext) => Controller | Promise<Controller>;

/** name → lazy factory. Scripted controllers say which task ids they support. */
export const SCRIPTED: Record<string, { tasks: string[] | '*'; description: string; load: () => Promise<ScriptedFactory> }> = {
  random: {
    tasks: '*',
    description: 'uniform random actions from the action space',
    load: async () => (await import('./scripted/random.js')).createRandom,
  },
  hover: {
    tasks: ['uav-data-collection'],
    description: 'hold position (the floor)',
    load: async () => (await import('./scripted/uav.js')).createHover,
  },
  greedy: {
    tasks: ['uav-data-collection'],
    description: 'fly to the nearest device with data (PD approach), hover until drained',
    load: async () => (await import('./scripted/uav.js')).createGreedy,
  },
  tour: {
    tasks: ['uav-data-collection'],
    description: 'visit devices in nearest-neighbour order improved by 2-opt, hovering over each until drained',
    load: async () => (await import('./scripted/uav.js')).createTour,
  },
  heuristic: {
    tasks: ['manipulation-grasp-invisible'],
    description: 'grasp the seen target where both fingers land clear, else push it toward free space; while hidden, unpile from the top',
    load: async () => (await import('./scripted/manipulation.js')).createHeuristic,
  },
  'nav-pursuit': {
    tasks: ['navigation'],
    description: 'navigator (A* on the inflated map) + planner (atomic actions) + pure pursuit, open loop',
    load: async () => (await import('./planning/agent.js')).createNavPursuit,
  },
  'nav-pursuit-critic': {
    tasks: ['navigation'],
    description: 'nav-pursuit with the closed-loop critic (corrective nodes, replans from the current pose)',
    load: async () => (await import('./planning/agent.js')).createNavPursuitCritic,
  },
  'nav-learned': {
    tasks: ['navigation'],
    description: 'navigator + planner + a learned waypoint policy (--controller-opt policy=<dir>, lookahead=<m>), open loop',
    load: async () => (await import('./planning/agent.js')).learnedFactory(false)(),
  },
  'nav-learned-critic': {
    tasks: ['navigation'],
    description: 'nav-learned with the closed-loop critic',
    load: async () => (await import('./planning/agent.js')).learnedFactory(true)(),
  },
};

/** kind → lazy learner factory. Learner owners add their one line here. */
export const LEARNERS: Record<string, { description: string; load: () => Promise<(opts: LearnerOptions) => Promise<Learner>> }> = {
  sac: { description: 'Soft Actor-Critic: twin critics, tanh-Gaussian actor, auto entropy (Box actions)', load: async () => (await import('./sac/sac.js')).createSacLearner('sac') },
  stac: { description: 'Stochastic Actor-Critic: SAC with one Normal(μ, σ) critic, μ − β·σ (Box actions)', load: async () => (await import('./sac/sac.js')).createSacLearner('stac') },
  ppo: { description: 'Proximal Policy Optimization: vectorised rollouts, GAE, clipped objective (Box and Discrete actions)', load: async () => (await import('./ppo/ppo.js')).createPpo },
  dqn: { description: 'Double DQN: target network, ε-greedy, replay buffer, Huber loss (Discrete actions)', load: async () => (await import('./dqn/dqn.js')).createDqn },
};

export async function createScripted(name: string, spec: EnvSpec, context: ControllerContext): Promise<Controller> {
  const entry = SCRIPTED[name];
  if (!entry) {
    throw new NotFoundError(`unknown controller "${name}". Scripted: ${Object.keys(SCRIPTED).join(', ')}; or a policy directory`);
  }
  if (entry.tasks !== '*' && !entry.tasks.includes(spec.id)) {
    throw new NotFoundError(`controller "${name}" does not support task ${spec.id} (it supports ${entry.tasks.join(', ')})`);
  }
  return (await entry.load())(spec, context);
}

export async function createLearner(kind: string, opts: LearnerOptions): Promise<Learner> {
  const entry = LEARNERS[kind];
  if (!entry) throw new NotFoundError(`unknown learner "${kind}". Known: ${Object.keys(LEARNERS).join(', ') || '(none)'}`);
  return (await entry.load())(opts);
}
