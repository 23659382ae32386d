import type { Controller, ControllerContext } from '../src/core/controller.js';
import type { EnvSpec } from '../src/core/env.js';
import { isPolicyDir } from './policy/read-policy.js';
import { createScripted } from './registry.js';

/**
 * A controller from a name (scripted) or a policy artifact directory (learned, any runtime).
 * Both are Controllers, so everything downstream treats them the same. Policy directories go
 * through the one loader (policy/load-policy.ts), which refuses a policy whose task or shapes
 * differ from `spec` before anything acts.
 */
export { isPolicyDir };

export async function createController(ref: string, spec: EnvSpec, context: ControllerContext): Promise<Controller> {
  if (isPolicyDir(ref)) {
    // Loaded lazily: a scripted run never loads the policy code (nor TensorFlow.js).
    const { loadPolicy } = await import('./policy/load-policy.js');
    return (await loadPolicy(ref, { spec, context })).controller;
  }
  return createScripted(ref, spec, context);
}
