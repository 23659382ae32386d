/**
 * SAC/STAC checkpoints in the learners' one format (controllers/checkpoint/): state.json (counters,
 * Rng, log α and its Adam state, normaliser, buffer position) and arrays.bin (`tensors`: actor,
 * critics, target critics, Adam m and v, float32, in that order; `replay`). The critics' arrays are
 * listed as separate critics would list them (member-major), whichever way they run.
 */
import { ValidationError } from '../../src/core/errors.js';
import type { Rng } from '../../src/core/rng.js';
import { readCheckpointFiles, writeCheckpointFiles } from '../checkpoint/checkpoint-io.js';
import type { CheckpointFaults } from '../checkpoint/manifest.js';
import { flatten, type Adam, type ScalarAdam } from '../nn/index.js';
import { RunningNormalizer, type NormalizerState } from '../policy/normalizer.js';
import type { ReplayBuffer } from '../replay/replay-buffer.js';
import type { SacConfig } from './config.js';
import type { SacNetworks } from './networks.js';

export const SAC_CHECKPOINT_FORMAT = 'embody.sac-checkpoint/2';

/** What state.json of a SAC/STAC checkpoint holds beside its arrays (tensors, replay). */
type SacCheckpointState = {
  format: string;
  kind: string;
  config: SacConfig;
  seed: number;
  envSteps: number;
  updates: number;
  episodeIndex: number;
  rng: ReturnType<Rng['getState']>;
  actorOptT: number;
  criticOptT: number;
  logAlpha: ReturnType<ScalarAdam['getState']>;
  normalizer: NormalizerState | null;
  buffer: { pos: number; size: number };
  tensorSizes: number[];
};

/** The learner's parts a checkpoint holds. */
export interface SacCheckpointParts {
  kind: string;
  config: SacConfig;
  seed: number;
  nets: SacNetworks;
  actorOpt: Adam;
  criticOpt: Adam;
  logAlpha: ScalarAdam;
  rng: Rng;
  normalizer: RunningNormalizer | null;
  buffer: ReplayBuffer;
}
export interface SacCounters {
  envSteps: number;
  updates: number;
  episodeIndex: number;
}

/** All networks and optimiser moments, in the fixed order above, as float32 arrays, with the count of each group. */
function tensorState(p: SacCheckpointParts) {
  const a = p.actorOpt.getState();
  const q = p.criticOpt.getState();
  const groups = {
    actor: p.nets.actor.getWeights(),
    critic: p.nets.critic.getWeights(),
    target: p.nets.target.getWeights(),
    actorM: a.m,
    actorV: a.v,
    criticM: p.nets.criticArraysToMemberMajor(q.m),
    criticV: p.nets.criticArraysToMemberMajor(q.v),
  };
  return { groups, tensors: Object.values(groups).flat() };
}

export function saveSacCheckpoint(dir: string, p: SacCheckpointParts, counters: SacCounters, faults?: CheckpointFaults): void {
  const { tensors } = tensorState(p);
  const state: SacCheckpointState = {
    format: SAC_CHECKPOINT_FORMAT,
    kind: p.kind,
    config: p.config,
    seed: p.seed,
    ...counters,
    rng: p.rng.getState(),
    actorOptT: p.actorOpt.getState().t,
    criticOptT: p.criticOpt.getState().t,
    logAlpha: p.logAlpha.getState(),
    normalizer: p.normalizer?.toJSON() ?? null,
    buffer: { pos: p.buffer.pos, size: p.buffer.size },
    tensorSizes: tensors.map((t) => t.length),
  };
  writeCheckpointFiles(dir, state, { tensors: flatten(tensors), replay: p.buffer.serialize() }, faults);
}

/** Restore every part in place; returns the counters to continue from. */
export function loadSacCheckpoint(dir: string, p: SacCheckpointParts): SacCounters {
  const { state: raw, arrays } = readCheckpointFiles(dir);
  const state = raw as unknown as SacCheckpointState; // written by saveSacCheckpoint above, verified by its manifest
  if (state.format !== SAC_CHECKPOINT_FORMAT) throw new ValidationError(`${dir}: not a SAC checkpoint (format ${state.format})`);
  if (state.kind !== p.kind) throw new ValidationError(`${dir}: checkpoint of ${state.kind}, learner is ${p.kind}`);
  const flat = arrays.tensors as Float32Array;
  const sizes: number[] = [...state.tensorSizes];
  const { groups, tensors } = tensorState(p);
  const expected = tensors.map((t) => t.length);
  if (sizes.length !== expected.length || sizes.some((n, i) => n !== expected[i])) {
    throw new ValidationError(`${dir}: checkpoint network shapes differ from this learner's config`);
  }
  let off = 0;
  const take = () => {
    const n = sizes.shift()!;
    const a = flat.slice(off, off + n);
    off += n;
    return a;
  };
  const takeN = (k: number) => Array.from({ length: k }, take);
  p.nets.actor.setWeights(takeN(groups.actor.length));
  p.nets.critic.setWeights(takeN(groups.critic.length));
  p.nets.target.setWeights(takeN(groups.target.length));
  const am = takeN(groups.actorM.length);
  const av = takeN(groups.actorV.length);
  p.actorOpt.setState({ t: state.actorOptT, m: am, v: av });
  const qm = p.nets.criticArraysFromMemberMajor(takeN(groups.criticM.length));
  const qv = p.nets.criticArraysFromMemberMajor(takeN(groups.criticV.length));
  p.criticOpt.setState({ t: state.criticOptT, m: qm, v: qv });
  p.logAlpha.setState(state.logAlpha);
  p.rng.setState(state.rng);
  if (p.normalizer && state.normalizer) {
    const n = RunningNormalizer.fromJSON(state.normalizer);
    p.normalizer.count = n.count;
    p.normalizer.mean.set(n.mean);
    p.normalizer.var.set(n.var);
  }
  p.buffer.load(arrays.replay as Uint8Array, state.buffer);
  return { envSteps: state.envSteps, updates: state.updates, episodeIndex: state.episodeIndex };
}
