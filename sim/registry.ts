import { z } from 'zod';
import { ValidationError } from '../src/core/errors.js';
import { TaskEnv } from './task-env.js';
import type { TaskBundle } from './task.js';
import { displayPath, listSceneFiles, parseWith, readJsonFile, resolveScenePath } from './scene.js';
import { uavTaskKind } from './uav/index.js';
import { cartpoleTaskKind, pendulumTaskKind } from './classic/index.js';
import { manipulationTaskKind } from './manipulation/index.js';
import { navTaskKind } from './navigation/index.js';

/**
 * Task kinds, keyed by the scene file's `task` field. To add a task, export a TaskKind
 * from its folder and list it here; the scene schema is the union of all kinds.
 */
export interface TaskKind<S extends { task: string; name: string } = any> {
  task: S['task'];
  /** A z.strictObject with `task: z.literal(...)`. */
  schema: z.ZodObject<any>;
  build(scene: S, options: { seed: number }): Promise<TaskBundle<any, any>> | TaskBundle<any, any>;
}

export const TASK_KINDS: TaskKind[] = [uavTaskKind, pendulumTaskKind, cartpoleTaskKind, navTaskKind, manipulationTaskKind];

let sceneSchema: z.ZodType<any> | null = null;
/** The union of all task kinds' scene schemas, discriminated by `task`. */
export function getSceneSchema(): z.ZodType<any> {
  if (!sceneSchema) {
    const [first, ...rest] = TASK_KINDS.map((k) => k.schema);
    const known = TASK_KINDS.map((k) => `"${k.task}"`).join(', ');
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

export function taskKindOf(task: string): TaskKind {
  const kind = TASK_KINDS.find((k) => k.task === task);
  if (!kind) throw new ValidationError(`unknown task kind "${task}"`);
  return kind;
}

/** Build an Env from a scene name, path, or an already-validated scene object. */
export async function createEnv(ref: string | LoadedScene['scene'], options: { seed?: number } = {}): Promise<TaskEnv> {
  const scene = typeof ref === 'string' ? loadScene(ref).scene : ref;
  const seed = options.seed ?? 0;
  const bundle = await taskKindOf(scene.task).build(scene, { seed });
  return new TaskEnv(bundle, scene.name, seed);
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
