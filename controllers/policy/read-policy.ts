import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ContractError, ValidationError } from '../../src/core/errors.js';
import type { Space } from '../../src/core/spaces.js';
import { readMlpWeights, verifyPolicyFiles } from './artifact.js';
import { PolicyController } from './controller.js';
import {
  POLICY_FORMAT,
  POLICY_FORMAT_V1,
  PolicyManifestSchema,
  PolicyManifestV1Schema,
  type MlpManifest,
  type PolicyManifest,
  type PolicyManifestV1,
  type SpaceJSONManifest,
} from './manifest.js';

/**
 * Reading and checking a policy directory, below every runtime: the manifest against the schema,
 * every file against its sha256, and the task id and shapes against the task it is meant for.
 * The one loader (load-policy.ts) builds on this; so do the controllers that hold a policy
 * inside them (the navigation follower, the manipulation critic's own loader), which therefore
 * never import the loader, which imports them.
 *
 * The two legacy formats (`dt.json`, `agent.json`) are upgraded in memory by their runtimes'
 * own readers (dt/artifact.ts, manipulation/legacy-critic.ts), which import only the format.
 */

/** What a policy is loaded for: the task's id and spaces (an EnvSpec is one). */
export interface PolicyTarget {
  id: string;
  scene?: string;
  observationSpace: Space;
  actionSpace: Space;
  /** Seconds per step; controllers that keep time (the navigation composite) need it. */
  controlPeriod?: number;
  maxEpisodeSteps?: number;
}

/** Does `dir` hold a policy artifact of any format loadPolicy reads? */
export function isPolicyDir(dir: string): boolean {
  return ['manifest.json', 'dt.json', 'agent.json'].some((f) => existsSync(path.join(dir, f)));
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ValidationError(`${file}: cannot read the policy manifest (${(err as Error).message})`, [], { cause: err });
  }
}

function schemaError(file: string, issues: { path: PropertyKey[]; message: string }[]): ValidationError {
  const list = issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
  return new ValidationError(`${file}: ${list.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`, list);
}

/** A v1 (MLP) manifest as v2, in memory. */
export function upgradeV1(v1: PolicyManifestV1): MlpManifest {
  const n = v1.observationNormalization;
  return {
    format: POLICY_FORMAT,
    runtime: 'mlp',
    kind: v1.kind,
    taskId: v1.taskId,
    ...(v1.scene ? { scene: v1.scene } : {}),
    observationSpace: v1.observationSpace,
    actionSpace: v1.actionSpace,
    observationNormalization: n ? { kind: 'running', ...n } : null,
    actionScaling: v1.actionScaling,
    task: null,
    trainingRunId: v1.trainingRunId,
    packageVersion: v1.packageVersion,
    createdAt: v1.createdAt,
    files: v1.files,
    ...(v1.extra ? { extra: v1.extra } : {}),
    mlp: { head: v1.head, network: v1.network, model: v1.model },
  };
}

/**
 * Read and check a policy directory's manifest (v2, or an older format upgraded in memory) and
 * the sha256 of every file. `spec` is needed only for a legacy `agent.json`, which names no spaces.
 */
export async function readPolicyManifest(dir: string, spec?: PolicyTarget): Promise<{ manifest: PolicyManifest; legacyFormat?: string }> {
  const manifestFile = path.join(dir, 'manifest.json');
  if (existsSync(manifestFile)) {
    const raw = readJson(manifestFile) as { format?: unknown };
    let manifest: PolicyManifest;
    let legacyFormat: string | undefined;
    if (raw && raw.format === POLICY_FORMAT_V1) {
      const v1 = PolicyManifestV1Schema.safeParse(raw);
      if (!v1.success) throw schemaError(manifestFile, v1.error.issues);
      manifest = upgradeV1(v1.data);
      legacyFormat = POLICY_FORMAT_V1;
    } else if (raw && raw.format === POLICY_FORMAT) {
      const v2 = PolicyManifestSchema.safeParse(raw);
      if (!v2.success) throw schemaError(manifestFile, v2.error.issues);
      manifest = v2.data;
    } else {
      throw new ValidationError(`${manifestFile}: format ${JSON.stringify(raw?.format)} is not a policy format this version reads (${POLICY_FORMAT}, or ${POLICY_FORMAT_V1} through \`embody convert\`)`);
    }
    verifyPolicyFiles(dir, manifest.files);
    return { manifest, legacyFormat };
  }
  if (existsSync(path.join(dir, 'dt.json'))) {
    const { upgradeLegacyDt } = await import('../dt/artifact.js');
    return { manifest: upgradeLegacyDt(dir), legacyFormat: 'embody.dt/1' };
  }
  if (existsSync(path.join(dir, 'agent.json'))) {
    if (!spec) throw new ValidationError(`${dir}/agent.json: a legacy manipulation critic names no spaces; convert it with \`embody convert ${dir} --scene <scene>\``);
    const { upgradeLegacyCritic } = await import('../manipulation/legacy-critic.js');
    return { manifest: upgradeLegacyCritic(dir, spec), legacyFormat: 'embody.manip-critic/1' };
  }
  throw new ValidationError(`${dir}: not a policy directory (no manifest.json)`);
}

function shapeOf(s: SpaceJSONManifest | Space): string {
  if (s.kind === 'discrete') return `Discrete(${s.n})`;
  return `[${s.shape.join(', ')}]`;
}

/**
 * Refuse a policy whose task id or spaces differ from the target's, naming both shapes. Only
 * shapes (and the number of discrete actions) must agree: bounds may differ between scenes.
 */
export function checkPolicyFits(dir: string, manifest: PolicyManifest, target: PolicyTarget): void {
  const where = `task ${target.id}${target.scene ? ` (scene ${target.scene})` : ''}`;
  const what = `policy ${dir} (${manifest.kind}, trained on ${manifest.taskId}${manifest.scene ? `/${manifest.scene}` : ''})`;
  const obsP = shapeOf(manifest.observationSpace);
  const obsT = shapeOf(target.observationSpace);
  if (manifest.taskId !== target.id) {
    throw new ContractError(`${what} is for task ${manifest.taskId} (observations of shape ${obsP}), but it was given ${where} (observations of shape ${obsT})`);
  }
  if (obsP !== obsT) {
    const hint =
      manifest.taskId === 'navigation' && manifest.runtime === 'mlp'
        ? '; a waypoint policy is the low level of the navigation composite: run it as `-c nav-learned --controller-opt policy=<dir>`, or use a nav-composite artifact'
        : '';
    throw new ContractError(`${what} reads observations of shape ${obsP}, but ${where} gives observations of shape ${obsT}${hint}`);
  }
  const actP = shapeOf(manifest.actionSpace);
  const actT = shapeOf(target.actionSpace);
  if (actP !== actT) throw new ContractError(`${what} writes actions of shape ${actP}, but ${where} takes actions of shape ${actT}`);
}

/** The deterministic MLP controller of an `mlp` manifest. */
export function mlpController(dir: string, manifest: MlpManifest): PolicyController {
  const a = manifest.actionSpace;
  return new PolicyController({
    kind: manifest.kind,
    network: { spec: manifest.mlp.network, weights: readMlpWeights(dir, manifest.mlp) },
    head: manifest.mlp.head,
    actionSize: a.kind === 'discrete' ? a.n : a.low.length,
    normalizer: manifest.observationNormalization,
    actionScaling: manifest.actionScaling,
  });
}

/**
 * An MLP policy directory, checked as `loadPolicy` checks it, as its deterministic controller: for
 * the controllers that run a learned MLP inside them (nav-learned's waypoint follower). Any other
 * runtime is refused: only the one loader builds those.
 */
export async function loadMlpPolicy(dir: string, target: PolicyTarget): Promise<{ controller: PolicyController; manifest: MlpManifest }> {
  const { manifest } = await readPolicyManifest(dir, target);
  checkPolicyFits(dir, manifest, target);
  if (manifest.runtime !== 'mlp') throw new ContractError(`${dir}: expected an MLP policy (runtime mlp), not ${manifest.runtime}`);
  return { controller: mlpController(dir, manifest), manifest };
}
