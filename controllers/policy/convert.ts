import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ValidationError } from '../../src/core/errors.js';
import { writePolicyDir, type ManifestDraft } from './artifact.js';
import { readPolicyManifest, type PolicyTarget } from './read-policy.js';
import type { PolicyManifest, TaskParams } from './manifest.js';

/**
 * `embody convert`: rewrite an artifact of an older format (`embody.policy/1`, `dt.json`,
 * `agent.json`) as `embody.policy/2`, atomically (a temp directory renamed into place). The
 * files keep their bytes; the manifest gains `runtime`, the task parameters (when the task is
 * given) and the sha256 of every file.
 */
export interface ConvertOptions {
  /** Where to write (default: replace `dir` itself). */
  out?: string;
  /** The task it runs on: needed for agent.json (no spaces of its own); gives `task` to any. */
  target?: PolicyTarget;
  task?: TaskParams | null;
}

export async function convertPolicy(dir: string, options: ConvertOptions = {}): Promise<{ manifest: PolicyManifest; from: string }> {
  const { manifest, legacyFormat } = await readPolicyManifest(dir, options.target);
  const out = options.out ?? dir;
  if (!legacyFormat && out === dir && (manifest.task || !options.task)) return { manifest, from: manifest.format };
  const files: Record<string, Uint8Array> = {};
  const draft = { ...manifest } as Partial<PolicyManifest>;
  delete draft.format;
  delete draft.files;
  delete draft.packageVersion;
  if (manifest.runtime === 'mlp') {
    for (const f of [manifest.mlp.model.topology, manifest.mlp.model.weights]) files[f] = readFileSync(path.join(dir, f));
  } else if (manifest.runtime === 'dt') {
    files[manifest.dt.weights] = readFileSync(path.join(dir, manifest.dt.weights));
  } else if (manifest.runtime === 'manip-critic') {
    const raw = JSON.parse(readFileSync(path.join(dir, manifest.manipCritic.weights), 'utf8')) as { critic?: unknown; coordinator?: unknown };
    if (!raw.critic || !raw.coordinator) throw new ValidationError(`${dir}/${manifest.manipCritic.weights}: needs "critic" and "coordinator" weights`);
    files['critic.json'] = Buffer.from(JSON.stringify({ critic: raw.critic, coordinator: raw.coordinator }));
    (draft as { manipCritic: object }).manipCritic = { ...manifest.manipCritic, weights: 'critic.json' };
  } else {
    for (const f of Object.keys(manifest.files)) files[f] = readFileSync(path.join(dir, f));
  }
  if (options.task && !manifest.task) draft.task = options.task;
  if (legacyFormat) draft.extra = { ...(manifest.extra ?? {}), convertedFrom: legacyFormat, originalPackageVersion: manifest.packageVersion };
  if (legacyFormat && manifest.createdAt === new Date(0).toISOString()) delete draft.createdAt;
  const written = await writePolicyDir(out, draft as ManifestDraft, files);
  return { manifest: written, from: legacyFormat ?? manifest.format };
}
