import type { Controller, ControllerContext } from '../../src/core/controller.js';
import type { EnvSpec } from '../../src/core/env.js';
import type { PolicyManifest } from './manifest.js';
import { checkPolicyFits, mlpController, readPolicyManifest, type PolicyTarget } from './read-policy.js';

/**
 * The one policy loader. `embody run`, `eval`, `bridge` (and `--deploy`), `agent`, `collect`
 * and the viewer all load a policy directory through `loadPolicy`, so its checks hold
 * everywhere:
 * - the manifest against the schema, and every file against its sha256;
 * - the task id, and the observation and action shapes against the task the policy is given,
 *   before the policy is built, so a mismatch fails at start-up and nothing acts.
 *
 * Each runtime's builder is imported here by a literal path (buildController); no runtime imports this file
 * back (those that hold a policy inside them read it through read-policy.ts).
 *
 * Artifacts of today's older formats (`embody.policy/1` manifests, `dt.json`, `agent.json`)
 * are read through an in-memory upgrade; `embody convert <dir>` rewrites them as v2.
 */

export { checkPolicyFits, isPolicyDir, mlpController, readPolicyManifest, upgradeV1, type PolicyTarget } from './read-policy.js';

export interface LoadPolicyOptions {
  spec: PolicyTarget;
  /** Seed, the task model (the manipulation critic and navigation composite need it) and controller options. */
  context?: ControllerContext;
}

export interface LoadedPolicy {
  controller: Controller;
  manifest: PolicyManifest;
  /** The older format it was read from, when it was (`embody convert` rewrites it). */
  legacyFormat?: string;
}

function envSpecOf(target: PolicyTarget, manifest: PolicyManifest): EnvSpec {
  return {
    id: target.id,
    scene: target.scene ?? manifest.scene ?? '',
    observationSpace: target.observationSpace,
    actionSpace: target.actionSpace,
    controlPeriod: target.controlPeriod ?? manifest.task?.controlPeriod ?? NaN,
    maxEpisodeSteps: target.maxEpisodeSteps ?? manifest.task?.maxEpisodeSteps ?? 0,
  };
}

/** Build the controller of a checked manifest with the loader its `runtime` names. */
async function buildController(dir: string, manifest: PolicyManifest, target: PolicyTarget, context: ControllerContext): Promise<Controller> {
  switch (manifest.runtime) {
    case 'mlp':
      return mlpController(dir, manifest);
    case 'dt': {
      const { dtController } = await import('../dt/artifact.js');
      const target = context.options?.targetReturn;
      return dtController(dir, manifest, target === undefined ? undefined : Number(target));
    }
    case 'manip-critic': {
      const { manipCriticController } = await import('../manipulation/load-critic.js');
      return manipCriticController(dir, manifest, envSpecOf(target, manifest), context);
    }
    case 'nav-composite': {
      const { navCompositeController } = await import('../planning/composite.js');
      return navCompositeController(dir, manifest, envSpecOf(target, manifest), context);
    }
    case 'scripted': {
      const { createScripted } = await import('../registry.js');
      return createScripted(manifest.scripted.name, envSpecOf(target, manifest), { ...context, options: { ...manifest.scripted.options, ...context.options } });
    }
  }
}

/**
 * Load a policy directory for a task: check it (schema, sha256, task id, shapes), then build its
 * controller with the runtime the manifest names. Throws before building anything on a mismatch.
 */
export async function loadPolicy(dir: string, options: LoadPolicyOptions): Promise<LoadedPolicy> {
  const { spec } = options;
  const { manifest, legacyFormat } = await readPolicyManifest(dir, spec);
  checkPolicyFits(dir, manifest, spec);
  const controller = await buildController(dir, manifest, spec, options.context ?? { seed: 0 });
  return { controller, manifest, ...(legacyFormat ? { legacyFormat } : {}) };
}
