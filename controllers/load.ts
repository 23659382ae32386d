import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Controller, ControllerContext } from '../src/core/controller.js';
import type { EnvSpec } from '../src/core/env.js';
import { ContractError } from '../src/core/errors.js';
import { createScripted } from './registry.js';

/**
 * A controller from a name (scripted) or a policy artifact directory (learned).
 * Both are Controllers, so everything downstream treats them the same.
 */
export function isPolicyDir(ref: string): boolean {
  return existsSync(path.join(ref, 'manifest.json')) || isDtDir(ref);
}

/** A decision-transformer artifact (controllers/dt): dt.json + weights.bin. */
function isDtDir(ref: string): boolean {
  return existsSync(path.join(ref, 'dt.json'));
}

export async function createController(ref: string, spec: EnvSpec, context: ControllerContext): Promise<Controller> {
  if (isDtDir(ref)) {
    const { loadDtController } = await import('./dt/artifact.js');
    const { controller, taskId } = await loadDtController(ref);
    if (taskId && taskId !== spec.id) throw new ContractError(`policy ${ref} was trained on task ${taskId}, but this scene's task is ${spec.id}`);
    return controller;
  }
  if (isPolicyDir(ref)) {
    // Loaded lazily: a scripted run never loads TensorFlow.js.
    const { loadPolicy } = await import('./policy/index.js');
    const { controller, manifest } = await loadPolicy(ref);
    if (manifest.taskId && manifest.taskId !== spec.id) {
      throw new ContractError(`policy ${ref} was trained on task ${manifest.taskId}, but this scene's task is ${spec.id}`);
    }
    return controller as Controller;
  }
  return createScripted(ref, spec, context);
}
