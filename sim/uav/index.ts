import { loadRapier } from '../rapier.js';
import type { TaskBundle, TaskKind } from '../task.js';
import { UavBackend } from './backend.js';
import { UavModel, type UavSetpoint, type UavState } from './model.js';
import { uavSceneSchema, type UavScene } from './scene.js';

export { UavModel, type UavState, type UavSetpoint } from './model.js';
export { UavBackend } from './backend.js';
export { uavSceneSchema, type UavScene } from './scene.js';

/** Deep enough copy of a UavState for reward(prev, next). */
export function snapshotUavState(s: UavState): UavState {
  return {
    ...s,
    pos: [...s.pos],
    vel: [...s.vel],
    remainingBits: s.remainingBits.slice(),
    allocation: s.allocation.slice(),
  };
}

export async function buildUavTask(scene: UavScene): Promise<TaskBundle<UavState, UavSetpoint>> {
  const R = await loadRapier();
  const model = new UavModel(scene);
  const backend = new UavBackend(R, scene, model);
  return {
    model,
    backend,
    controlPeriod: 1 / scene.controlHz,
    maxEpisodeSteps: scene.maxEpisodeSteps,
    snapshot: snapshotUavState,
  };
}

export const uavTaskKind: TaskKind<UavScene, UavState, UavSetpoint> = {
  id: 'uav',
  schema: uavSceneSchema,
  model: (scene) => new UavModel(scene),
  simulate: async (scene, model) => new UavBackend(await loadRapier(), scene, model as UavModel),
  controlPeriod: (scene) => 1 / scene.controlHz,
  maxEpisodeSteps: (scene) => scene.maxEpisodeSteps,
  snapshot: snapshotUavState,
  baseline: 'tour',
  // A policy that hovers can out-earn one that flies on return; only a full collection counts.
  selectBy: { metric: 'efficiencyBitPerJ', require: { fractionCollected: 1 } },
};
