import { existsSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../../src/experiment/atomic.js';
import { ValidationError } from '../../src/core/errors.js';
import { readPolicy } from '../policy/index.js';
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
  let kind: string;
  if (existsSync(path.join(dir, 'dt.json'))) {
    const { loadDt } = await import('../dt/artifact.js');
    const { mergeLora } = await import('../dt/weights.js');
    const { file: dt, config, weights } = loadDt(dir);
    bytes = dtPolicyOnnx({ config, obsDim: dt.obsDim, actDim: dt.actDim, weights: mergeLora(weights, config), obsMean: dt.obsMean, obsStd: dt.obsStd, rtgScale: dt.rtgScale });
    kind = 'dt';
  } else if (existsSync(path.join(dir, 'manifest.json'))) {
    const { manifest, weights } = readPolicy(dir);
    bytes = mlpPolicyOnnx(manifest, weights);
    kind = manifest.kind;
  } else {
    throw new ValidationError(`${dir}: not a policy directory (no manifest.json or dt.json)`);
  }
  writeFileAtomic(file, bytes);
  return { file, kind, bytes: bytes.byteLength };
}
