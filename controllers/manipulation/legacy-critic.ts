import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ValidationError } from '../../src/core/errors.js';
import { PolicyManifestSchema, type ManipCriticManifest } from '../policy/manifest.js';

/**
 * The legacy manipulation critic format (`agent.json`, embody.manip-critic/1) read as a v2
 * manifest, in memory. Apart from the agent (agent.ts) so that the policy reader
 * (policy/read-policy.ts) can read it without importing the agent, which imports the reader.
 */

/**
 * A v2 manifest for a legacy `agent.json` directory (in memory). agent.json names no spaces, so
 * they come from the task it is loaded for; its P × R is checked against that task's scene.
 */
export function upgradeLegacyCritic(dir: string, spec: { id: string; scene?: string; observationSpace: { toJSON(): unknown }; actionSpace: { toJSON(): unknown } }): ManipCriticManifest {
  const file = path.join(dir, 'agent.json');
  const saved = JSON.parse(readFileSync(file, 'utf8')) as { format?: string; task?: string; P?: number; R?: number; coordinatorFitted?: boolean };
  if (saved.format !== 'embody.manip-critic/1') throw new ValidationError(`${file}: not a manipulation critic (format ${String(saved.format)})`);
  return PolicyManifestSchema.parse({
    format: 'embody.policy/2',
    runtime: 'manip-critic',
    kind: 'manip-critic',
    taskId: saved.task ?? spec.id,
    ...(spec.scene ? { scene: spec.scene } : {}),
    observationSpace: spec.observationSpace.toJSON(),
    actionSpace: spec.actionSpace.toJSON(),
    observationNormalization: null,
    actionScaling: null,
    task: null,
    trainingRunId: null,
    packageVersion: 'unknown (embody.manip-critic/1)',
    createdAt: new Date(0).toISOString(),
    files: {},
    manipCritic: { weights: 'agent.json', P: saved.P, R: saved.R, coordinatorFitted: saved.coordinatorFitted ?? false },
  }) as ManipCriticManifest;
}
