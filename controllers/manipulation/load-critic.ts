import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ControllerContext } from '../../src/core/controller.js';
import type { EnvSpec } from '../../src/core/env.js';
import { ValidationError } from '../../src/core/errors.js';
import type { ManipCriticManifest } from '../policy/manifest.js';
import { checkPolicyFits, readPolicyManifest } from '../policy/read-policy.js';
import { createCriticAgent, type CriticAgent } from './agent.js';
import type { CriticWeights } from './critic.js';
import { rulesFromOptions, type CriticRules } from './rules.js';

/**
 * A critic agent from a policy directory: the `manip-critic` runtime's builder for the one policy
 * loader (`policy/load-policy.ts` imports `manipCriticController` lazily), and `loadCriticAgent`,
 * which checks a directory as that loader does without importing it (the loader imports this file).
 */

/** The agent of a `manip-critic` artifact (policy/read-policy.ts checked its files and spaces). */
export async function manipCriticController(dir: string, manifest: ManipCriticManifest, spec: EnvSpec, context: ControllerContext): Promise<CriticAgent> {
  const agent = await createCriticAgent(spec, context, rulesFromOptions(context.options));
  const { P, R } = manifest.manipCritic;
  const g = agent.model.geometry;
  if (P !== g.P || R !== g.R) {
    agent.dispose();
    throw new ValidationError(`${dir}: trained for ${P} px × ${R} rotations, the scene has ${g.P} × ${g.R}`);
  }
  const file = path.join(dir, manifest.manipCritic.weights);
  const saved = JSON.parse(readFileSync(file, 'utf8')) as { critic?: CriticWeights; coordinator?: CriticWeights };
  if (!saved.critic || !saved.coordinator) throw new ValidationError(`${file}: needs "critic" and "coordinator" weights`);
  agent.critic.setWeights(saved.critic);
  agent.coordinator.setWeights(saved.coordinator);
  agent.coordinatorFitted = manifest.manipCritic.coordinatorFitted;
  agent.epsilon = 0;
  return agent;
}

/**
 * Load a saved critic agent directory (v2, or legacy agent.json) for `spec`, checked as the one
 * policy loader checks it (read-policy.ts: schema, sha256, task id, shapes).
 */
export async function loadCriticAgent(dir: string, spec: EnvSpec, context: ControllerContext, rules: Partial<CriticRules> = {}): Promise<CriticAgent> {
  const options = { ...context.options, ...Object.fromEntries(Object.entries(rules).map(([k, v]) => [k, String(v)])) };
  const { manifest } = await readPolicyManifest(dir, spec);
  checkPolicyFits(dir, manifest, spec);
  if (manifest.runtime !== 'manip-critic') throw new ValidationError(`${dir}: not a manipulation critic artifact`);
  return manipCriticController(dir, manifest, spec, { ...context, options });
}
