import path from 'node:path';
import { writeFileAtomic } from '../../src/core/atomic.js';
import { ValidationError } from '../../src/core/errors.js';
import { readMlpWeights, readPolicyManifest } from '../policy/index.js';
import { dtPolicyOnnx } from './dt.js';
import { mlpPolicyOnnx } from './mlp.js';

export { mlpPolicyOnnx } from './mlp.js';
export { dtPolicyOnnx, type DtExportModel } from './dt.js';

export const EXPORT_FORMATS = ['onnx'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/**
 * `embody export <policy dir> --format onnx`: the policy as `<dir>.onnx` beside the directory
 * (`runs/x/policy` → `runs/x/policy.onnx`), or `out`, written atomically. Not inside it: a
 * policy directory lists every file with its sha256, and loading refuses unlisted files. MLP policies (manifest.json: SAC, STAC, PPO, DQN) and decision
 * transformers (dt.json, at their trained context K) are supported.
 */
export async function exportPolicy(dir: string, opts: { format?: ExportFormat; out?: string } = {}): Promise<{ file: string; kind: string; bytes: number }> {
  const format = opts.format ?? 'onnx';
  if (!EXPORT_FORMATS.includes(format)) throw new ValidationError(`export: unknown format "${format}" (supported: ${EXPORT_FORMATS.join(', ')})`);
  const file = opts.out ?? `${path.resolve(dir)}.onnx`;
  let bytes: Uint8Array;
  // One reader for every format (embody.policy/2, and the older ones upgraded in memory).
  const { manifest } = await readPolicyManifest(dir);
  if (manifest.runtime === 'dt') {
    const { readDtWeights } = await import('../dt/artifact.js');
    const { mergeLora } = await import('../dt/weights.js');
    const { config, weights, obsDim, actDim } = readDtWeights(dir, manifest);
    const norm = manifest.observationNormalization;
    const obsMean = norm?.kind === 'standard' ? norm.mean : new Array(obsDim).fill(0);
    const obsStd = norm?.kind === 'standard' ? norm.std : new Array(obsDim).fill(1);
    bytes = dtPolicyOnnx({ config, obsDim, actDim, weights: mergeLora(weights, config), obsMean, obsStd, rtgScale: manifest.dt.rtgScale });
  } else if (manifest.runtime === 'mlp') {
    bytes = mlpPolicyOnnx(manifest, readMlpWeights(dir, manifest.mlp));
  } else {
    throw new ValidationError(`${dir}: a ${manifest.runtime} policy has no ONNX export (supported: the MLP heads of SAC, STAC, PPO, DQN, and the decision transformer)`);
  }
  const kind = manifest.kind;
  writeFileAtomic(file, bytes);
  return { file, kind, bytes: bytes.byteLength };
}
