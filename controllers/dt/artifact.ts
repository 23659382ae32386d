import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ValidationError } from '../../src/core/errors.js';
import { Box } from '../../src/core/spaces.js';
import { readFloat32, verifyPolicyFiles, writePolicyDir } from '../policy/artifact.js';
import { PolicyManifestSchema, type DtManifest, type TaskParams } from '../policy/manifest.js';
import type { DtConfig } from './config.js';
import type { TrainedDt } from './train.js';
import { dtParamSpecs, type Weights } from './weights.js';

/**
 * The decision-transformer policy artifact, `embody.policy/2` with runtime `dt`: manifest.json
 * (spaces, the dataset standardisation, config, RTG scale, target return, parameter order) +
 * `weights.bin` (raw float32, LoRA adapters included so that training can resume from it;
 * inference merges them). Written atomically as one directory.
 *
 * Artifacts written before v2 (`dt.json` + weights.bin, format `embody.dt/1`) still load here,
 * and `embody convert` rewrites them as v2.
 */
export const LegacyDtFileSchema = z.object({
  format: z.literal('embody.dt/1'),
  config: z.record(z.string(), z.unknown()),
  obsDim: z.number().int().positive(),
  actDim: z.number().int().positive(),
  obsMean: z.array(z.number()),
  obsStd: z.array(z.number()),
  rtgScale: z.number().positive(),
  targetReturn: z.number(),
  params: z.array(z.object({ name: z.string(), size: z.number().int() })),
  taskId: z.string().optional(),
  scene: z.string().optional(),
  stats: z.record(z.string(), z.unknown()).optional(),
});

export interface DtArtifactMeta {
  taskId?: string;
  scene?: string;
  /** dt or crdt (default: crdt when the config's critic weight η > 0). */
  kind?: string;
  task?: TaskParams | null;
  runId?: string | null;
}

/** The flat weights in a fixed order, and that order. */
export function packWeights(raw: Weights): { flat: Float32Array; params: { name: string; size: number }[] } {
  const names = Object.keys(raw);
  const flat = new Float32Array(names.reduce((n, k) => n + raw[k].length, 0));
  let off = 0;
  for (const k of names) {
    flat.set(raw[k], off);
    off += raw[k].length;
  }
  return { flat, params: names.map((name) => ({ name, size: raw[name].length })) };
}

export async function saveDt(dir: string, m: TrainedDt, meta: DtArtifactMeta = {}, rawConfig?: DtConfig): Promise<DtManifest> {
  const { flat, params } = packWeights(m.rawWeights);
  const config = (rawConfig ?? m.config) as unknown as Record<string, unknown>;
  const eta = Number((m.config as unknown as { eta?: number }).eta ?? 0);
  const kind = meta.kind ?? (eta > 0 ? 'crdt' : 'dt');
  const manifest = await writePolicyDir(
    dir,
    {
      runtime: 'dt',
      kind,
      taskId: meta.taskId ?? 'unknown',
      ...(meta.scene ? { scene: meta.scene } : {}),
      observationSpace: new Box(-Infinity, Infinity, [m.obsDim]).toJSON(),
      actionSpace: new Box(-1, 1, [m.actDim]).toJSON(),
      observationNormalization: { kind: 'standard', mean: Array.from(m.obsMean), std: Array.from(m.obsStd) },
      actionScaling: null,
      task: meta.task ?? null,
      trainingRunId: meta.runId ?? null,
      dt: { config, rtgScale: m.rtgScale, targetReturn: m.targetReturn, params, weights: 'weights.bin', stats: m.stats },
    },
    { 'weights.bin': new Uint8Array(flat.buffer) },
  );
  return manifest as DtManifest;
}

/** A v2 DT manifest for a legacy `dt.json` directory (in memory; the files are not touched). */
export function upgradeLegacyDt(dir: string): DtManifest {
  const file = path.join(dir, 'dt.json');
  const res = LegacyDtFileSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!res.success) {
    const i = res.error.issues[0];
    throw new ValidationError(`${file}: ${i.path.join('.') || '(root)'}: ${i.message}`);
  }
  const f = res.data;
  const eta = Number((f.config as { eta?: number }).eta ?? 0);
  return PolicyManifestSchema.parse({
    format: 'embody.policy/2',
    runtime: 'dt',
    kind: eta > 0 ? 'crdt' : 'dt',
    taskId: f.taskId ?? 'unknown',
    ...(f.scene ? { scene: f.scene } : {}),
    observationSpace: new Box(-Infinity, Infinity, [f.obsDim]).toJSON(),
    actionSpace: new Box(-1, 1, [f.actDim]).toJSON(),
    observationNormalization: { kind: 'standard', mean: f.obsMean, std: f.obsStd },
    actionScaling: null,
    task: null,
    trainingRunId: null,
    packageVersion: 'unknown (embody.dt/1)',
    createdAt: new Date(0).toISOString(),
    // Legacy DT artifacts carry no hashes: nothing to check them against.
    files: {},
    dt: { config: f.config, rtgScale: f.rtgScale, targetReturn: f.targetReturn, params: f.params, weights: 'weights.bin', ...(f.stats ? { stats: f.stats } : {}) },
  }) as DtManifest;
}

/** The weights of a DT manifest, by name; checks their total and that none the config needs is missing. */
export function readDtWeights(dir: string, manifest: DtManifest): { config: DtConfig; weights: Weights; obsDim: number; actDim: number } {
  const file = path.join(dir, manifest.dt.weights);
  const flat = readFloat32(file);
  const weights: Weights = {};
  let off = 0;
  for (const p of manifest.dt.params) {
    weights[p.name] = flat.slice(off, off + p.size);
    off += p.size;
  }
  if (off !== flat.length) throw new ValidationError(`${file}: expected ${off} floats, found ${flat.length}`);
  const config = manifest.dt.config as unknown as DtConfig;
  const obsDim = manifest.observationSpace.kind === 'box' ? manifest.observationSpace.low.length : 0;
  const actDim = manifest.actionSpace.kind === 'box' ? manifest.actionSpace.low.length : 0;
  const missing = dtParamSpecs(config, obsDim, actDim)
    .map((s) => s.name)
    .filter((n) => !weights[n]);
  if (missing.length) throw new ValidationError(`${dir}: weights missing ${missing.slice(0, 3).join(', ')}`);
  return { config, weights, obsDim, actDim };
}

/** Read a DT artifact (v2, or legacy dt.json): its manifest, config and raw weights (LoRA adapters unmerged). */
export function loadDt(dir: string): { manifest: DtManifest; config: DtConfig; weights: Weights; obsDim: number; actDim: number } {
  let manifest: DtManifest;
  if (existsSync(path.join(dir, 'manifest.json'))) {
    const parsed = PolicyManifestSchema.safeParse(JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')));
    if (!parsed.success || parsed.data.runtime !== 'dt') throw new ValidationError(`${dir}/manifest.json: not an embody.policy/2 DT artifact`);
    manifest = parsed.data;
    verifyPolicyFiles(dir, manifest.files);
  } else manifest = upgradeLegacyDt(dir);
  return { manifest, ...readDtWeights(dir, manifest) };
}

/**
 * A ready-to-act DT Controller (LoRA adapters merged), so that run, eval, the bridge and the
 * agent drive a DT like any other policy. It conditions on the trained target return unless
 * `targetReturn` is given.
 */
export async function dtController(dir: string, manifest: DtManifest, targetReturn?: number) {
  const { DtController } = await import('./infer.js');
  const { mergeLora } = await import('./weights.js');
  const { config, weights, obsDim, actDim } = readDtWeights(dir, manifest);
  const norm = manifest.observationNormalization;
  if (norm?.kind !== 'standard') throw new ValidationError(`${dir}: a DT artifact needs the "standard" observation normalisation (its dataset mean and std)`);
  const model = {
    config,
    obsDim,
    actDim,
    weights: mergeLora(weights, config),
    obsMean: Float32Array.from(norm.mean),
    obsStd: Float32Array.from(norm.std),
    rtgScale: manifest.dt.rtgScale,
  };
  return new DtController(model, targetReturn ?? manifest.dt.targetReturn);
}
