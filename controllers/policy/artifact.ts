import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Space } from '../../src/core/spaces.js';
import { ValidationError } from '../../src/core/errors.js';
import { replaceDirAtomic } from '../../src/experiment/atomic.js';
import { PACKAGE_VERSION } from '../../src/experiment/run-dir.js';
import { PolicyController } from './controller.js';
import { POLICY_FORMAT, PolicyManifestSchema, type PolicyHead, type PolicyManifest } from './manifest.js';
import { weightShapes, type NetworkSpec } from './network.js';
import { RunningNormalizer, type NormalizerState } from './normalizer.js';

/**
 * Save and load the policy artifact: manifest.json + tfjs model.json + weights.bin.
 * `savePolicy` needs tfjs (to write a Keras-compatible model.json that `tf.loadLayersModel`
 * also reads); `loadPolicy` does not: it reads the weights itself and runs the pure-JS forward.
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
  extra?: Record<string, unknown>;
}

const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');

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
async function saveModel(tf: typeof import('@tensorflow/tfjs'), spec: NetworkSpec, weights: Float32Array[]) {
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

/** Write the artifact into `dir`, atomically (a temp directory renamed into place). */
export async function savePolicy(dir: string, opts: SavePolicyOptions): Promise<PolicyManifest> {
  const tf = await import('@tensorflow/tfjs');
  const { modelJson, weightData } = await saveModel(tf, opts.network.spec, opts.network.weights);
  const modelText = JSON.stringify(modelJson);
  const norm = opts.normalizer ? (opts.normalizer instanceof RunningNormalizer ? opts.normalizer.toJSON() : opts.normalizer) : null;
  const manifest: PolicyManifest = {
    format: POLICY_FORMAT,
    kind: opts.kind,
    taskId: opts.taskId,
    ...(opts.scene ? { scene: opts.scene } : {}),
    observationSpace: opts.observationSpace.toJSON(),
    actionSpace: opts.actionSpace.toJSON(),
    observationNormalization: norm,
    head: opts.head,
    actionScaling: opts.actionScaling === undefined ? actionScalingFor(opts.actionSpace) : opts.actionScaling,
    network: opts.network.spec,
    model: { topology: 'model.json', weights: 'weights.bin' },
    trainingRunId: opts.runId ?? null,
    packageVersion: PACKAGE_VERSION,
    createdAt: new Date().toISOString(),
    files: { 'model.json': sha256(modelText), 'weights.bin': sha256(weightData) },
    ...(opts.extra ? { extra: opts.extra } : {}),
  };
  PolicyManifestSchema.parse(manifest);
  await replaceDirAtomic(dir, (tmp) => {
    writeFileSync(path.join(tmp, 'model.json'), modelText);
    writeFileSync(path.join(tmp, 'weights.bin'), weightData);
    writeFileSync(path.join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  });
  return manifest;
}

/** Read and check a policy directory: schema, sha256 of every file, weight sizes. */
export function readPolicy(dir: string): { manifest: PolicyManifest; weights: Float32Array[] } {
  const manifestFile = path.join(dir, 'manifest.json');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(manifestFile, 'utf8'));
  } catch (err) {
    throw new ValidationError(`${manifestFile}: cannot read the policy manifest`, [], { cause: err });
  }
  const parsed = PolicyManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    throw new ValidationError(`${manifestFile}: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`, issues);
  }
  const manifest = parsed.data;
  const present = readdirSync(dir).filter((f) => f !== 'manifest.json');
  for (const f of present) {
    if (!(f in manifest.files)) throw new ValidationError(`${dir}: file ${f} is not listed in manifest.files`);
  }
  for (const [f, expected] of Object.entries(manifest.files)) {
    let data: Buffer;
    try {
      data = readFileSync(path.join(dir, f));
    } catch (err) {
      throw new ValidationError(`${dir}: missing policy file ${f}`, [], { cause: err });
    }
    const got = sha256(data);
    if (got !== expected) throw new ValidationError(`${dir}/${f}: sha256 mismatch (manifest ${expected.slice(0, 12)}…, file ${got.slice(0, 12)}…)`);
  }
  const bin = readFileSync(path.join(dir, manifest.model.weights));
  // Copy into an aligned buffer: a Buffer's byteOffset need not be a multiple of 4.
  const all = new Float32Array(new Uint8Array(bin).buffer.slice(0));
  const shapes = weightShapes(manifest.network);
  const total = shapes.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
  if (all.length !== total) throw new ValidationError(`${dir}: weights.bin holds ${all.length} floats, the network needs ${total}`);
  let off = 0;
  const weights = shapes.map((s) => {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const w = all.slice(off, off + n);
    off += n;
    return w;
  });
  return { manifest, weights };
}

/** Load a policy directory as a deterministic Controller. Needs no tfjs. */
export async function loadPolicy(dir: string): Promise<{ controller: PolicyController; manifest: PolicyManifest }> {
  const { manifest, weights } = readPolicy(dir);
  const a = manifest.actionSpace;
  const controller = new PolicyController({
    kind: manifest.kind,
    network: { spec: manifest.network, weights },
    head: manifest.head,
    actionSize: a.kind === 'discrete' ? a.n : a.low.length,
    normalizer: manifest.observationNormalization,
    actionScaling: manifest.actionScaling,
  });
  return { controller, manifest };
}
