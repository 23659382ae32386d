/**
 * embody as a library, in the words of Gymnasium and Stable-Baselines3:
 *
 *   import { make, train, evaluate, loadPolicy } from 'embody';
 *   const env = await make('cartpole', { seed: 0 });
 *   const { runDir, policy } = await train('ppo', env, { steps: 20_000 });
 *   const { meanReturn, stdReturn } = await evaluate(policy, env, { episodes: 10 });
 *
 * Subpaths hold the rest of the public surface: `embody/sim` (the task contract, for task
 * authors), `embody/hardware` (bridge, agent, MQTT protocol, safety) and `embody/policy`
 * (the policy artifact).
 */
import path from 'node:path';
import type { Controller } from './core/controller.js';
import { ContractError } from './core/errors.js';
import type { LoadedScene } from '../sim/registry.js';
import { createEnv, loadScene, registerTaskKind, validateSceneObject } from '../sim/registry.js';
import type { SceneBase, TaskKind } from '../sim/task.js';
import type { TaskEnv } from '../sim/task-env.js';
import { evaluatePolicy, type EvaluateOptions, type EvaluateResult, type PolicyLike } from './experiment/evaluate-policy.js';
import type { TrainOptions, TrainResult } from './experiment/train.js';
import type { LoadedPolicy } from '../controllers/policy/index.js';

export { Box, Discrete, spaceFromJSON, type Space, type SpaceJSON } from './core/spaces.js';
export type { Env, EnvSpec, Action, ResetResult, StepResult, Info, EpisodeStats } from './core/env.js';
export type { Controller, ControllerContext } from './core/controller.js';
export { SyncVectorEnv, SyncVectorEnv as VectorEnv, type VectorStepResult } from './core/vector-env.js';
export { AsyncVectorEnv } from './core/async-vector-env.js';
export { Rng } from './core/rng.js';
export { EmbodyError, ValidationError, ContractError, NotFoundError } from './core/errors.js';
export type { TaskModel, SimBackend, TaskKind, SceneBase, SelectionRule } from '../sim/task.js';
export { TaskEnv } from '../sim/task-env.js';
export type { LoadedPolicy } from '../controllers/policy/index.js';
export type { EvaluateOptions, EvaluateResult, PolicyLike } from './experiment/evaluate-policy.js';

/**
 * A policy artifact as a Controller. Given an env, the policy is checked against that env's
 * task and shapes (a mismatch is refused with both shapes named); without one, against the task
 * and scene it was trained on, as its manifest records them.
 */
export async function loadPolicy(dir: string, env?: Pick<TaskEnv, 'spec' | 'model'>, options: Record<string, string> = {}): Promise<LoadedPolicy> {
  const { loadPolicy: load, readPolicyManifest } = await import('../controllers/policy/index.js');
  let target = env;
  let own: TaskEnv | null = null;
  if (!target) {
    const { manifest } = await readPolicyManifest(dir);
    const recorded = manifest.task?.sceneConfig as (SceneBase & Record<string, unknown>) | null | undefined;
    if (!recorded && !manifest.scene) throw new ContractError(`${dir}: the policy records no scene; pass the env it should run in`);
    own = await make(recorded ?? manifest.scene!);
    target = own;
  }
  try {
    return await load(dir, { spec: target.spec, context: { seed: 0, model: target.model, options } });
  } finally {
    own?.close();
  }
}

/** The scene each env from make() was built from, so train() can build more like it. */
const scenes = new WeakMap<object, LoadedScene['scene']>();

/**
 * An env from a scene name (`'uav-small'`, under scenes/), a scene file (`'./my-field.json'`)
 * or a scene object (validated against its task kind's schema).
 */
export async function make(scene: string | (SceneBase & Record<string, unknown>), options: { seed?: number } = {}): Promise<TaskEnv> {
  const object = typeof scene === 'string' ? loadScene(scene).scene : validateSceneObject(scene, `scene "${scene.name ?? '?'}"`);
  const env = await createEnv(object, { seed: options.seed ?? 0 });
  scenes.set(env, object);
  return env;
}

/**
 * A new task kind, as Gymnasium's `register`: scenes whose `task` is `id` then work with
 * make(), train(), evaluate() and the CLI. `model(scene)` is the pure task logic (what a
 * robot runs); `simulate(scene, model)` the simulated world. See examples/ for one.
 */
export function register<S extends SceneBase>(kind: TaskKind<S>): TaskKind<S> {
  return registerTaskKind(kind);
}

export interface TrainCallOptions extends Pick<TrainOptions, 'backend' | 'select' | 'maxWallSeconds' | 'resume'> {
  /** Seed of the run (default 0). */
  seed?: number;
  /** Where the run directory goes (default 'runs'). */
  out?: string;
  /** Called after each evaluation. */
  onEval?: TrainOptions['onEval'];
  /** Print one line per evaluation to stderr (default false: a library stays quiet). */
  verbose?: boolean;
}

export interface TrainCallResult extends TrainResult {
  /** The final policy, loaded from runDir/policy. */
  policy: { controller: Controller; manifest: unknown };
  /** runDir/policy-best, chosen by the task's selection rule. */
  bestPolicyDir: string;
}

/**
 * Train learner `kind` ('sac', 'stac', 'ppo', 'dqn') on the task of `env` (an env from make(),
 * or a scene name/file). `config` holds hyper-parameters and the driver's `steps`,
 * `evalEvery`, `evalEpisodes`, over the per-task defaults in configs/.
 */
export async function train(kind: string, env: TaskEnv | string, config: Record<string, unknown> = {}, options: TrainCallOptions = {}): Promise<TrainCallResult> {
  const scene = typeof env === 'string' ? env : scenes.get(env);
  if (scene === undefined) throw new ContractError('train: give an env from make(), or a scene name or file');
  const { train: runTraining } = await import('./experiment/train.js');
  const quiet = !options.verbose;
  const result = await runTraining({
    scene,
    controller: kind,
    seed: options.seed ?? 0,
    overrides: config,
    out: options.out ?? 'runs',
    backend: options.backend,
    select: options.select,
    maxWallSeconds: options.maxWallSeconds,
    resume: options.resume,
    onEval: options.onEval,
    quiet,
    log: quiet ? () => {} : undefined,
  });
  const policy = await loadPolicy(path.join(result.runDir, 'policy'), typeof env === 'string' ? undefined : env);
  return { ...result, policy, bestPolicyDir: path.join(result.runDir, 'policy-best') };
}

/** Mean and population std of the return over whole episodes, as SB3's evaluate_policy. */
export function evaluate(policy: PolicyLike, env: TaskEnv, options: EvaluateOptions = {}): Promise<EvaluateResult> {
  return evaluatePolicy(policy, env, options);
}
