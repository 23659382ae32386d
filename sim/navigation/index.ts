import { loadRapier } from '../rapier.js';
import type { TaskBundle, TaskKind } from '../task.js';
import { NavBackend } from './backend.js';
import { NavModel, type NavSetpoint, type NavState } from './model.js';
import { navSceneSchema, type NavScene } from './scene.js';

export { NavModel, wrapAngle, type NavState, type NavSetpoint, type NavAnnotations } from './model.js';
export { NavBackend } from './backend.js';
export { navSceneSchema, type NavScene } from './scene.js';
export { OccupancyGrid, astar, planPath, smoothPath, polylineLength, NoPathError } from './grid.js';

/** Copy of a NavState for reward(prev, next): the backend mutates its state in place. */
export function snapshotNavState(s: NavState): NavState {
  return { ...s, pose: [...s.pose], vel: [...s.vel], lidar: s.lidar.slice() };
}

export async function buildNavTask(scene: NavScene): Promise<TaskBundle<NavState, NavSetpoint>> {
  const R = await loadRapier();
  const model = new NavModel(scene);
  const backend = new NavBackend(R, scene, model);
  return {
    model,
    backend,
    controlPeriod: 1 / scene.controlHz,
    maxEpisodeSteps: scene.maxEpisodeSteps,
    snapshot: snapshotNavState,
  };
}

export const navTaskKind: TaskKind<NavScene, NavState, NavSetpoint> = {
  id: 'navigation',
  schema: navSceneSchema,
  model: (scene) => new NavModel(scene),
  simulate: async (scene, model) => new NavBackend(await loadRapier(), scene, model as NavModel),
  controlPeriod: (scene) => 1 / scene.controlHz,
  maxEpisodeSteps: (scene) => scene.maxEpisodeSteps,
  snapshot: snapshotNavState,
  // The navigator needs the pose; a waypoint scene observes only lidar, goal and speeds.
  baseline: (scene) => (scene.observation === 'waypoint' ? 'random' : 'nav-pursuit-critic'),
};
