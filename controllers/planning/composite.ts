import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ControllerContext } from '../../src/core/controller.js';
import type { EnvSpec } from '../../src/core/env.js';
import { ContractError } from '../../src/core/errors.js';
import type { NavModel } from '../../sim/navigation/model.js';
import { readMlpWeights, taskFields, writePolicyDir } from '../policy/artifact.js';
import { PolicyController } from '../policy/controller.js';
import { checkPolicyFits, readPolicyManifest } from '../policy/read-policy.js';
import type { NavCompositeManifest, TaskParams } from '../policy/manifest.js';
import { followerTarget, NavAgent, navModelOf } from './agent.js';
import { LearnedFollower } from './pursuit.js';

/**
 * The navigation composite as one policy artifact (runtime `nav-composite`): the planner's
 * settings (critic on/off, look-ahead) and the learned follower's network, in one directory.
 * It reads the task's full observation (`observationSpace`); the follower inside reads the
 * waypoint observation it was trained on (`navigation.follower.observationSpace`), which the
 * composite builds from the lidar, the planner's waypoint and the speeds, as in training.
 */
export const FOLLOWER_FILES = { topology: 'follower.model.json', weights: 'follower.weights.bin' };

export interface SaveNavCompositeOptions {
  /** An MLP waypoint policy directory (v1 or v2), or null for pure pursuit. */
  followerDir: string | null;
  critic: boolean;
  lookahead: number;
  /** The navigation task the composite runs on (full observation). */
  spec: EnvSpec;
  model: NavModel;
  task?: TaskParams | null;
}

/** Write a navigation composite into `dir`, atomically; the follower is checked against the waypoint observation first. */
export async function saveNavComposite(dir: string, opts: SaveNavCompositeOptions): Promise<NavCompositeManifest> {
  const files: Record<string, Uint8Array> = {};
  let follower: NavCompositeManifest['navigation']['follower'] = { kind: 'pure-pursuit' };
  let kind = `nav-pursuit${opts.critic ? '-critic' : ''}`;
  if (opts.followerDir) {
    const { manifest: f } = await readPolicyManifest(opts.followerDir);
    if (f.runtime !== 'mlp') throw new ContractError(`${opts.followerDir}: the navigation follower must be an MLP policy, not ${f.runtime}`);
    checkPolicyFits(opts.followerDir, f, followerTarget(opts.model));
    files[FOLLOWER_FILES.topology] = readFileSync(path.join(opts.followerDir, f.mlp.model.topology));
    files[FOLLOWER_FILES.weights] = readFileSync(path.join(opts.followerDir, f.mlp.model.weights));
    follower = {
      kind: 'learned',
      policyKind: f.kind,
      observationSpace: f.observationSpace,
      actionSpace: f.actionSpace,
      observationNormalization: f.observationNormalization,
      actionScaling: f.actionScaling,
      trainingRunId: f.trainingRunId,
      ...(f.scene ? { scene: f.scene } : {}),
      mlp: { ...f.mlp, model: FOLLOWER_FILES },
    };
    kind = `nav-learned${opts.critic ? '-critic' : ''}`;
  }
  const manifest = await writePolicyDir(
    dir,
    {
      runtime: 'nav-composite',
      kind,
      ...taskFields(opts.spec, opts.task),
      trainingRunId: follower.kind === 'learned' ? follower.trainingRunId : null,
      navigation: { critic: opts.critic, lookahead: opts.lookahead, follower },
    },
    files,
  );
  return manifest as NavCompositeManifest;
}

/** The NavAgent of a composite artifact (policy/read-policy.ts checked its files and spaces). */
export function navCompositeController(dir: string, manifest: NavCompositeManifest, spec: EnvSpec, context: ControllerContext): NavAgent {
  const model = navModelOf(context);
  const nav = manifest.navigation;
  const lookahead = context.options?.lookahead !== undefined ? Number(context.options.lookahead) : nav.lookahead;
  if (!(lookahead > 0)) throw new ContractError(`controller option lookahead=${context.options?.lookahead}: expected a positive number`);
  if (nav.follower.kind === 'pure-pursuit') return new NavAgent(model, spec, { critic: nav.critic, lookahead, kind: manifest.kind });
  const f = nav.follower;
  const want = followerTarget(model).observationSpace.size;
  const got = f.observationSpace.kind === 'box' ? f.observationSpace.low.length : -1;
  if (got !== want) throw new ContractError(`${dir}: its follower reads observations of shape [${got}], but this scene's waypoint observation has shape [${want}] (lidar rays differ)`);
  const policy = new PolicyController({
    kind: f.policyKind,
    network: { spec: f.mlp.network, weights: readMlpWeights(dir, f.mlp) },
    head: f.mlp.head,
    actionSize: f.actionSpace.kind === 'discrete' ? f.actionSpace.n : f.actionSpace.low.length,
    normalizer: f.observationNormalization,
    actionScaling: f.actionScaling,
  });
  return new NavAgent(model, spec, { critic: nav.critic, follower: new LearnedFollower(model, policy, want), lookahead, kind: manifest.kind });
}
