/**
 * `embody/sim`: what a task author needs. The task contract (TaskModel, SimBackend,
 * TaskKind), the registry, scenes and their field helpers, TaskEnv and Rapier.
 * The task kinds' own classes stay internal; build them by scene through the registry.
 */
export type { TaskModel, SimBackend, TaskBundle, TaskKind, TaskLimits, DoneResult, SceneBase, SelectionRule } from './task.js';
export { TaskEnv } from './task-env.js';
export { registerTaskKind, taskKinds, taskKindOf, buildTask, buildTaskModel, createEnv, loadScene, validateSceneObject, listScenes, getSceneSchema, type LoadedScene } from './registry.js';
export { sceneBase, num, posNum, nonNegNum, posInt, fraction, vec3, color, parseWith, SCENES_DIR } from './scene.js';
export { loadRapier, type Rapier } from './rapier.js';
// The zod that embody's scene schemas use: a task's schema joins their union, so it must be the same copy.
export { z } from 'zod';
