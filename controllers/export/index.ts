import { existsSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../../src/core/atomic.js';
import { ValidationError } from '../../src/core/errors.js';
import { addPolicyExport } from '../policy/artifact.js';
import { readMlpWeights, readPolicyManifest } from '../policy/index.js';
import { dtPolicyOnnx } from './dt.js';
import { mlpPolicyOnnx } from './mlp.js';
import { onnxSignature } from './onnx-graph.js';

export { mlpPolicyOnnx } from './mlp.js';
export { dtPolicyOnnx, type DtExportModel } from './dt.js';
export { onnxSignature } from './onnx-graph.js';

export const EXPORT_FORMATS = ['onnx'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
/** The export's name inside the policy directory. */
export const ONNX_FILE = 'policy.onnx';

/**
 * `embody export <policy dir> --format onnx`: the policy as `<dir>/policy.onnx`, recorded in the
 * manifest (listed in `files` with its sha256, described in `exports`), the directory rewritten
 * atomically (`addPolicyExport`). `out` elsewhere writes a plain file there, atomically, and
 * leaves the directory as it is; `out` inside the directory records it under its own name.
 * MLP policies (SAC, STAC, PPO, DQN) and decision transformers (at their trained context K).
 */
export async function exportPolicy(dir: string, opts: { format?: ExportFormat; out?: string } = {}): Promise<{ file: string; kind: string; bytes: number; recorded: boolean }> {
  const format = opts.format ?? 'onnx';
  if (!EXPORT_FORMATS.includes(format)) throw new ValidationError(`export: unknown format "${format}" (supported: ${EXPORT_FORMATS.join(', ')})`);
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
  const file = opts.out ? path.resolve(opts.out) : path.join(path.resolve(dir), ONNX_FILE);
  // Inside the policy directory (through symlinks too) the file must be listed, or loading refuses it.
  const inside = existsSync(path.dirname(file)) && realpathSync(path.dirname(file)) === realpathSync(dir);
  if (inside) await addPolicyExport(dir, path.basename(file), bytes, { format: 'onnx', ...onnxSignature(bytes) });
  else writeFileAtomic(file, bytes);
  return { file, kind: manifest.kind, bytes: bytes.byteLength, recorded: inside };
}
