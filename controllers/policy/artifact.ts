import { createHash } from 'node:crypto';
import { cpSync, readFileSync, readdirSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Space } from '../../src/core/spaces.js';
import { ValidationError } from '../../src/core/errors.js';
import { replaceDirAtomic } from '../../src/core/atomic.js';
import { PACKAGE_VERSION } from '../../src/core/package.js';
import { POLICY_FORMAT, PolicyManifestSchema, type MlpManifest, type PolicyExport, type MlpSection, type ObservationNormalization, type PolicyHead, type PolicyManifest, type TaskParams } from './manifest.js';
import { weightShapes, type NetworkSpec } from './network.js';
import { RunningNormalizer, type NormalizerState } from './normalizer.js';

/**
 * Write and check policy artifacts (manifest.json + the runtime's files, every one with its
 * sha256 in the manifest). `savePolicy` writes an MLP (tfjs model.json + weights.bin) and needs
 * tfjs, to write a Keras-compatible model.json that `tf.loadLayersModel` also reads; loading
 * (load-policy.ts) does not: it reads the weights itself and runs the pure-JS forward.
 */
export interface SavePolicyOptions {
  kind: string;
  taskId: string;
  scene?: string;
  observationSpace: Space;
  actionSpace: Space;
  network: { spec: NetworkSpec; weights: Float32Array[] };
  head: PolicyHead;
  normalizer?: RunningNormalizer | NormalizerState | null;
  /** Box only. Default: derived from the action space (null when it is already [−1, 1]). */
  actionScaling?: { low: number[]; high: number[] } | null;
  runId?: string | null;
  /** The task model's parameters (taskParamsOf in sim/task-env.ts); null when unknown. */
  task?: TaskParams | null;
  extra?: Record<string, unknown>;
}

export const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');

/** Normaliser state as the manifest stores it (tagged `running`). */
export function normalizationOf(n: RunningNormalizer | NormalizerState | ObservationNormalization | null | undefined): ObservationNormalization | null {
  if (!n) return null;
  if (n instanceof RunningNormalizer) return { kind: 'running', ...n.toJSON() };
  if ('kind' in n) return n as ObservationNormalization;
  const s = n as NormalizerState;
  return { kind: 'running', count: s.count, mean: s.mean, var: s.var, clip: s.clip, epsilon: s.epsilon };
}

/** Affine map [−1, 1] → [low, high] for a finite Box that is not already [−1, 1]; else null. */
export function actionScalingFor(space: Space): { low: number[]; high: number[] } | null {
  if (space.kind !== 'box') return null;
  const low = Array.from(space.low);
  const high = Array.from(space.high);
  if (low.every((v) => v === -1) && high.every((v) => v === 1)) return null;
  if (![...low, ...high].every(Number.isFinite)) return null;
  return { low, high };
}

/** The Keras-style topology (through tfjs's own serializer, so tf.loadLayersModel reads it) and the packed weights. */
export async function mlpFiles(tf: typeof import('@tensorflow/tfjs'), spec: NetworkSpec, weights: Float32Array[]) {
  const model = tf.sequential();
  spec.layers.forEach((l, i) => {
    const first = i === 0 ? { inputShape: [spec.inputSize] } : {};
    if (l.type === 'dense') model.add(tf.layers.dense({ units: l.units, activation: l.activation, ...first }));
    else if (l.type === 'dropout') model.add(tf.layers.dropout({ rate: l.rate, ...first }));
    else if (l.type === 'layerNorm') model.add(tf.layers.layerNormalization({ epsilon: l.epsilon, axis: -1, ...first }));
    else model.add(tf.layers.activation({ activation: l.activation, ...first }));
  });
  const shapes = weightShapes(spec);
  const tensors = shapes.map((s, i) => tf.tensor(weights[i], s.shape, 'float32'));
  model.setWeights(tensors);
  tensors.forEach((t) => t.dispose());
  let captured: { modelTopology: unknown; weightSpecs: unknown; weightData: ArrayBuffer } | null = null;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const wd = artifacts.weightData;
      const buf = Array.isArray(wd) ? tf.io.concatenateArrayBuffers(wd) : (wd as ArrayBuffer);
      captured = { modelTopology: artifacts.modelTopology, weightSpecs: artifacts.weightSpecs, weightData: buf };
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  model.dispose();
  const c = captured as unknown as { modelTopology: unknown; weightSpecs: unknown; weightData: ArrayBuffer };
  // Our weights, packed in the same order tfjs lists them; check they agree bit for bit.
  const packed = new Float32Array(weights.reduce((n, w) => n + w.length, 0));
  let off = 0;
  for (const w of weights) {
    packed.set(w, off);
    off += w.length;
  }
  const fromTf = new Uint8Array(c.weightData);
  const ours = new Uint8Array(packed.buffer);
  if (fromTf.length !== ours.length || !fromTf.every((b, i) => b === ours[i])) {
    throw new Error('policy save: tfjs packed the weights differently from the network spec order');
  }
  const modelJson = {
    format: 'layers-model',
    generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
    convertedBy: null,
    modelTopology: c.modelTopology,
    weightsManifest: [{ paths: ['weights.bin'], weights: c.weightSpecs }],
  };
  return { modelJson, weightData: ours };
}

/** The manifest minus what writePolicyDir fills in (format, version, date, file hashes). */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type ManifestDraft = DistributiveOmit<PolicyManifest, 'format' | 'packageVersion' | 'createdAt' | 'files'> & { createdAt?: string };

/**
 * Write an artifact into `dir` atomically (a temp directory renamed into place): the files,
 * then the manifest with the sha256 of each. The manifest is checked against the schema first,
 * so nothing invalid is ever written.
 */
export async function writePolicyDir(dir: string, draft: ManifestDraft, files: Record<string, Uint8Array | string>): Promise<PolicyManifest> {
  const hashes: Record<string, string> = {};
  for (const [name, data] of Object.entries(files)) hashes[name] = sha256(data);
  // An export describes a file: keep the entries whose file is written (convert copies them), drop the rest.
  const { exports: draftExports, ...body } = draft;
  const kept = Object.entries(draftExports ?? {}).filter(([f]) => f in files);
  const parsed = PolicyManifestSchema.parse({
    format: POLICY_FORMAT,
    ...body,
    ...(kept.length ? { exports: Object.fromEntries(kept) } : {}),
    packageVersion: PACKAGE_VERSION,
    createdAt: draft.createdAt ?? new Date().toISOString(),
    files: hashes,
  });
  // format and runtime first, for a reader of the file.
  const { format, runtime, ...rest } = parsed;
  const manifest = { format, runtime, ...rest } as PolicyManifest;
  await replaceDirAtomic(dir, (tmp) => {
    for (const [name, data] of Object.entries(files)) writeFileSync(path.join(tmp, name), data);
    writeFileSync(path.join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  });
  return manifest;
}

/**
 * Add an export (`embody export`: `policy.onnx`) to an `embody.policy/2` directory, or replace
 * the one of that name. The directory is rebuilt beside itself (its files copied, the export
 * written, the manifest listing it in `files` with its sha256 and describing it in `exports`)
 * and renamed into place, so a reader sees the old artifact or the new one, never a file the
 * manifest does not list. Refuses a directory whose files fail their sha256 (it would bless
 * them), and a name that is one of the policy's own files.
 */
export async function addPolicyExport(dir: string, name: string, data: Uint8Array, entry: Omit<PolicyExport, 'packageVersion' | 'createdAt'>): Promise<PolicyManifest> {
  const real = realpathSync(dir);
  const manifestFile = path.join(real, 'manifest.json');
  let raw: { format?: unknown } & Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(manifestFile, 'utf8'));
  } catch (err) {
    throw new ValidationError(`${dir}: no readable manifest.json to record the export in (${(err as Error).message})`, [], { cause: err });
  }
  if (raw?.format !== POLICY_FORMAT) {
    throw new ValidationError(`${dir}: an export is recorded only in an ${POLICY_FORMAT} manifest (this one is ${JSON.stringify(raw?.format)}): run \`embody convert ${dir}\` first, or write the export elsewhere with --out`);
  }
  const manifest = PolicyManifestSchema.parse(raw);
  verifyPolicyFiles(real, manifest.files);
  if (name in manifest.files && !(name in (manifest.exports ?? {}))) throw new ValidationError(`${dir}/${name}: is one of the policy's own files, not an export; choose another name`);
  const next = PolicyManifestSchema.parse({
    ...raw,
    files: { ...manifest.files, [name]: sha256(data) },
    exports: { ...(manifest.exports ?? {}), [name]: { ...entry, packageVersion: PACKAGE_VERSION, createdAt: new Date().toISOString() } },
  });
  await replaceDirAtomic(real, (tmp) => {
    for (const f of readdirSync(real)) if (f !== 'manifest.json' && f !== name) cpSync(path.join(real, f), path.join(tmp, f), { recursive: true });
    writeFileSync(path.join(tmp, name), data);
    const { format, runtime, ...rest } = next;
    writeFileSync(path.join(tmp, 'manifest.json'), JSON.stringify({ format, runtime, ...rest }, null, 2) + '\n');
  });
  return next;
}

/** Write an MLP policy (SAC, STAC, PPO, DQN) into `dir`, atomically. */
export async function savePolicy(dir: string, opts: SavePolicyOptions): Promise<MlpManifest> {
  const tf = await import('@tensorflow/tfjs');
  const { modelJson, weightData } = await mlpFiles(tf, opts.network.spec, opts.network.weights);
  const draft: ManifestDraft = {
    runtime: 'mlp',
    kind: opts.kind,
    taskId: opts.taskId,
    ...(opts.scene ? { scene: opts.scene } : {}),
    observationSpace: opts.observationSpace.toJSON(),
    actionSpace: opts.actionSpace.toJSON(),
    observationNormalization: normalizationOf(opts.normalizer),
    actionScaling: opts.actionScaling === undefined ? actionScalingFor(opts.actionSpace) : opts.actionScaling,
    task: opts.task ?? null,
    trainingRunId: opts.runId ?? null,
    mlp: { head: opts.head, network: opts.network.spec, model: { topology: 'model.json', weights: 'weights.bin' } },
    ...(opts.extra ? { extra: opts.extra } : {}),
  };
  return (await writePolicyDir(dir, draft, { 'model.json': JSON.stringify(modelJson), 'weights.bin': weightData })) as MlpManifest;
}

/**
 * Check a directory against its manifest's file list: every listed file present with its
 * sha256, and no file the manifest does not list (a stray file may be a half-finished copy).
 */
export function verifyPolicyFiles(dir: string, files: Record<string, string>): void {
  for (const f of readdirSync(dir)) {
    if (f === 'manifest.json' || !statSync(path.join(dir, f)).isFile()) continue;
    if (!(f in files)) throw new ValidationError(`${dir}: file ${f} is not listed in manifest.files`);
  }
  for (const [f, expected] of Object.entries(files)) {
    let data: Buffer;
    try {
      data = readFileSync(path.join(dir, f));
    } catch (err) {
      throw new ValidationError(`${dir}: missing policy file ${f}`, [], { cause: err });
    }
    const got = sha256(data);
    if (got !== expected) throw new ValidationError(`${dir}/${f}: sha256 mismatch (manifest ${expected.slice(0, 12)}…, file ${got.slice(0, 12)}…)`);
  }
}

/** A float32 file as an aligned Float32Array (a Buffer's byteOffset need not be a multiple of 4). */
export function readFloat32(file: string): Float32Array {
  const bin = readFileSync(file);
  if (bin.length % 4 !== 0) throw new ValidationError(`${file}: ${bin.length} bytes is not a whole number of float32 values`);
  return new Float32Array(new Uint8Array(bin).buffer.slice(0));
}

/** The weights of an MLP section, split by weightShapes(); their total must match the network. */
export function readMlpWeights(dir: string, mlp: MlpSection): Float32Array[] {
  const file = path.join(dir, mlp.model.weights);
  const all = readFloat32(file);
  const shapes = weightShapes(mlp.network);
  const total = shapes.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
  if (all.length !== total) throw new ValidationError(`${file}: holds ${all.length} floats, the network needs ${total}`);
  let off = 0;
  return shapes.map((s) => {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const w = all.slice(off, off + n);
    off += n;
    return w;
  });
}

/** The manifest fields of a policy that reads a task's own spaces raw (no normalisation or scaling of its own). */
export function taskFields(spec: { id: string; scene: string; observationSpace: Space; actionSpace: Space }, task: TaskParams | null | undefined) {
  return {
    taskId: spec.id,
    scene: spec.scene,
    observationSpace: spec.observationSpace.toJSON(),
    actionSpace: spec.actionSpace.toJSON(),
    observationNormalization: null,
    actionScaling: null,
    task: task ?? null,
  };
}

/** A scripted controller as an artifact (runtime `scripted`): deployable to an agent like any policy. */
export async function saveScripted(dir: string, opts: { name: string; options?: Record<string, string>; spec: { id: string; scene: string; observationSpace: Space; actionSpace: Space }; task?: TaskParams | null }): Promise<PolicyManifest> {
  return writePolicyDir(
    dir,
    {
      runtime: 'scripted',
      kind: opts.name,
      ...taskFields(opts.spec, opts.task),
      trainingRunId: null,
      scripted: { name: opts.name, options: opts.options ?? {} },
    },
    {},
  );
}
