import { z } from 'zod';
import { NotFoundError, ValidationError } from '../src/core/errors.js';
import { didYouMean } from '../src/core/suggest.js';
import { TaskEnv } from './task-env.js';
import type { SceneBase, TaskBundle, TaskKind, TaskModel } from './task.js';
import { displayPath, listSceneFiles, parseWith, readJsonFile, resolveScenePath } from './scene.js';
import { uavTaskKind } from './uav/index.js';
import { cartpoleTaskKind, pendulumTaskKind } from './classic/index.js';
import { manipulationTaskKind } from './manipulation/index.js';
import { navTaskKind } from './navigation/index.js';

/**
 * Task kinds, keyed by the scene file's `task` field. The built-in kinds register below;
 * a library user adds one with `registerTaskKind` (exported as `register` from 'embody').
 * Kinds import only sim/task.ts, never this file, so there is no import cycle.
 */
const kinds = new Map<string, TaskKind>();
let sceneSchema: z.ZodType<any> | null = null;

export function registerTaskKind<S extends SceneBase>(kind: TaskKind<S>): TaskKind<S> {
  if (typeof kind?.id !== 'string' || !/^[a-z0-9][a-z0-9._-]*$/i.test(kind.id)) {
    throw new ValidationError(`register: id must be a name like "my-task", got ${JSON.stringify(kind?.id)}`);
  }
  for (const member of ['model', 'simulate'] as const) {
    if (typeof kind[member] !== 'function') throw new ValidationError(`register({ id: "${kind.id}" }): ${member} must be a function (scene) => ...`);
  }
  if (typeof kind.controlPeriod !== 'number' && typeof kind.controlPeriod !== 'function') {
    throw new ValidationError(`register({ id: "${kind.id}" }): controlPeriod (seconds per step, or (scene) => seconds) is required`);
  }
  const existing = kinds.get(kind.id);
  if (existing && existing !== kind) throw new ValidationError(`register: a task kind "${kind.id}" is already registered`);
  kinds.set(kind.id, kind as TaskKind);
  sceneSchema = null;
  return kind;
}

for (const kind of [uavTaskKind, pendulumTaskKind, cartpoleTaskKind, navTaskKind, manipulationTaskKind]) registerTaskKind(kind as TaskKind);

/** Every registered task kind, built-in first. */
export function taskKinds(): TaskKind[] {
  return [...kinds.values()];
}

/** A kind without a schema accepts any object with its `task`, a `name` and other fields as they are. */
function schemaOf(kind: TaskKind): z.ZodObject<any> {
  return kind.schema ?? z.looseObject({ task: z.literal(kind.id), name: z.string().min(1, 'expected a non-empty name'), description: z.string().optional() });
}

/** The union of all task kinds' scene schemas, discriminated by `task`. */
export function getSceneSchema(): z.ZodType<any> {
  if (!sceneSchema) {
    const all = taskKinds();
    const known = all.map((k) => `"${k.id}"`).join(', ');
    const [first, ...rest] = all.map(schemaOf);
    sceneSchema = z.discriminatedUnion('task', [first, ...rest] as any, {
      error: (iss) => (iss.code === 'invalid_union' ? `expected a task kind: one of ${known}` : undefined),
    });
  }
  return sceneSchema;
}

export interface LoadedScene {
  file: string;
  scene: { task: string; name: string; description: string } & Record<string, unknown>;
}

/** Load and validate a scene by name or path. Errors read `scenes/x.json: devices[3].dataMbit: reason`. */
export function loadScene(ref: string): LoadedScene {
  const file = resolveScenePath(ref);
  const shown = displayPath(file);
  const raw = readJsonFile(file, shown);
  const scene = parseWith(getSceneSchema(), raw, shown);
  return { file, scene };
}

export function validateSceneObject(raw: unknown, displayName = '<scene>') {
  return parseWith(getSceneSchema(), raw, displayName);
}

/** The scripted controller `embody run` uses for `scene` when none is named (the kind's `baseline`, else "random"). */
export function baselineOf(scene: LoadedScene['scene']): string {
  return valueOf(taskKindOf(scene.task).baseline, scene) ?? 'random';
}

export function taskKindOf(task: string): TaskKind {
  const kind = kinds.get(task);
  if (!kind) {
    const known = [...kinds.keys()];
    throw new NotFoundError(`unknown task kind "${task}". Known: ${known.join(', ')}.${didYouMean(task, known)}`);
  }
  return kind;
}

const valueOf = <S, T extends number | string>(v: T | ((scene: S) => T) | undefined, scene: S): T | undefined => (typeof v === 'function' ? v(scene) : v);

/** The robot-side half of a task: the pure model and its timing, with no simulator (no Rapier). */
export function buildTaskModel(scene: LoadedScene['scene']): { model: TaskModel<unknown, unknown>; controlPeriod: number; maxEpisodeSteps: number } {
  const kind = taskKindOf(scene.task);
  const controlPeriod = valueOf(kind.controlPeriod, scene)!;
  const maxEpisodeSteps = valueOf(kind.maxEpisodeSteps, scene) ?? (scene as { maxEpisodeSteps?: number }).maxEpisodeSteps;
  if (!(controlPeriod > 0)) throw new ValidationError(`task kind "${kind.id}": controlPeriod must be a positive number of seconds, got ${controlPeriod}`);
  if (!Number.isInteger(maxEpisodeSteps) || maxEpisodeSteps! <= 0) {
    throw new ValidationError(`task kind "${kind.id}": no episode length; give maxEpisodeSteps in the kind or the scene (got ${maxEpisodeSteps})`);
  }
  return { model: kind.model(scene), controlPeriod, maxEpisodeSteps: maxEpisodeSteps! };
}

/** Both halves: the model, and the simulator that advances its states. */
export async function buildTask(scene: LoadedScene['scene']): Promise<TaskBundle> {
  const kind = taskKindOf(scene.task);
  const { model, controlPeriod, maxEpisodeSteps } = buildTaskModel(scene);
  const backend = await kind.simulate(scene, model);
  return { model, backend, controlPeriod, maxEpisodeSteps, snapshot: kind.snapshot ?? structuredClone };
}

/** Build an Env from a scene name, path, or an already-validated scene object. */
export async function createEnv(ref: string | LoadedScene['scene'], options: { seed?: number } = {}): Promise<TaskEnv> {
  const scene = typeof ref === 'string' ? loadScene(ref).scene : ref;
  const seed = options.seed ?? 0;
  return new TaskEnv(await buildTask(scene), scene.name, seed);
}

/** Every scene under scenes/, validated, with its one-line description or its error. */
export function listScenes(): { name: string; task: string; description: string; error?: string }[] {
  return listSceneFiles().map((file) => {
    const name = file.split('/').pop()!.replace(/\.json$/, '');
    try {
      const { scene } = loadScene(file);
      return { name, task: scene.task, description: scene.description };
    } catch (err) {
      return { name, task: '?', description: '', error: (err as Error).message };
    }
  });
}
