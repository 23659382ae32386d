import { loadRapier } from '../rapier.js';
import type { TaskBundle, TaskKind } from '../task.js';
import { ManipulationBackend } from './backend.js';
import { ManipulationModel, snapshotManipState, type ManipSetpoint, type ManipState } from './model.js';
import { manipulationSceneSchema, type ManipulationScene } from './scene.js';

export { ManipulationModel, ManipGeometry, marginOccupancy, snapshotManipState, type ManipSetpoint, type ManipState, type PrimitiveName } from './model.js';
export { ManipulationBackend } from './backend.js';
export { manipulationSceneSchema, type ManipulationScene } from './scene.js';

/** Nominal seconds per motion: a primitive runs to completion in one `advance`, whatever dt says. */
const NOMINAL_MOTION_SECONDS = 2;

export async function buildManipulationTask(scene: ManipulationScene): Promise<TaskBundle<ManipState, ManipSetpoint>> {
  const R = await loadRapier();
  const model = new ManipulationModel(scene);
  const backend = new ManipulationBackend(R, scene, model);
  return {
    model,
    backend,
    controlPeriod: NOMINAL_MOTION_SECONDS,
    maxEpisodeSteps: scene.maxMotions,
    snapshot: snapshotManipState,
  };
}

export const manipulationTaskKind: TaskKind<ManipulationScene, ManipState, ManipSetpoint> = {
  id: 'manipulation',
  schema: manipulationSceneSchema,
  model: (scene) => new ManipulationModel(scene),
  simulate: async (scene, model) => new ManipulationBackend(await loadRapier(), scene, model as ManipulationModel),
  controlPeriod: NOMINAL_MOTION_SECONDS,
  maxEpisodeSteps: (scene) => scene.maxMotions,
  snapshot: snapshotManipState,
  baseline: 'heuristic',
};
