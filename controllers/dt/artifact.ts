import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { replaceDirAtomic } from '../../src/experiment/atomic.js';
import { ValidationError } from '../../src/core/errors.js';
import type { DtConfig } from './config.js';
import type { TrainedDt } from './train.js';
import { dtParamSpecs, type Weights } from './weights.js';

/**
 * A decision-transformer artifact: `dt.json` (config, sizes, normalisation, RTG scale, target
 * return, parameter order) + `weights.bin` (raw float32, LoRA adapters included so that training
 * can resume from it; inference merges them). Written atomically as one directory.
 */
const DtFileSchema = z.object({
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
}

export async function saveDt(dir: string, m: TrainedDt, meta: DtArtifactMeta = {}, rawConfig?: DtConfig): Promise<void> {
  const names = Object.keys(m.rawWeights);
  const total = names.reduce((n, k) => n + m.rawWeights[k].length, 0);
  const flat = new Float32Array(total);
  let off = 0;
  for (const k of names) {
    flat.set(m.rawWeights[k], off);
    off += m.rawWeights[k].length;
  }
  const file = {
    format: 'embody.dt/1' as const,
    config: (rawConfig ?? m.config) as unknown as Record<string, unknown>,
    obsDim: m.obsDim,
    actDim: m.actDim,
    obsMean: Array.from(m.obsMean),
    obsStd: Array.from(m.obsStd),
    rtgScale: m.rtgScale,
    targetReturn: m.targetReturn,
    params: names.map((name) => ({ name, size: m.rawWeights[name].length })),
    ...meta,
    stats: m.stats,
  };
  const { writeFileSync } = await import('node:fs');
  await replaceDirAtomic(dir, (tmp) => {
    writeFileSync(path.join(tmp, 'dt.json'), JSON.stringify(file, null, 2) + '\n');
    writeFileSync(path.join(tmp, 'weights.bin'), new Uint8Array(flat.buffer));
  });
}

export function loadDt(dir: string): { file: z.infer<typeof DtFileSchema>; config: DtConfig; weights: Weights } {
  const raw = JSON.parse(readFileSync(path.join(dir, 'dt.json'), 'utf8'));
  const res = DtFileSchema.safeParse(raw);
  if (!res.success) {
    const i = res.error.issues[0];
    throw new ValidationError(`${dir}/dt.json: ${i.path.join('.') || '(root)'}: ${i.message}`);
  }
  const file = res.data;
  const buf = readFileSync(path.join(dir, 'weights.bin'));
  const flat = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  const weights: Weights = {};
  let off = 0;
  for (const p of file.params) {
    weights[p.name] = flat.slice(off, off + p.size);
    off += p.size;
  }
  if (off !== flat.length) throw new ValidationError(`${dir}/weights.bin: expected ${off} floats, found ${flat.length}`);
  const config = file.config as unknown as DtConfig;
  const need = dtParamSpecs(config, file.obsDim, file.actDim).map((s) => s.name);
  const missing = need.filter((n) => !weights[n]);
  if (missing.length) throw new ValidationError(`${dir}: weights missing ${missing.slice(0, 3).join(', ')}`);
  return { file, config, weights };
}

/**
 * A ready-to-act DT Controller from an artifact directory (LoRA adapters merged), so that
 * `embody run -c <dir>` and the hardware bridge drive a DT like any other policy. It
 * conditions on the trained target return unless `targetReturn` is given.
 */
export async function loadDtController(dir: string, targetReturn?: number) {
  const { DtController } = await import('./infer.js');
  const { mergeLora } = await import('./weights.js');
  const { file, config, weights } = loadDt(dir);
  const model = {
    config,
    obsDim: file.obsDim,
    actDim: file.actDim,
    weights: mergeLora(weights, config),
    obsMean: Float32Array.from(file.obsMean),
    obsStd: Float32Array.from(file.obsStd),
    rtgScale: file.rtgScale,
  };
  return { controller: new DtController(model, targetReturn ?? file.targetReturn), taskId: file.taskId };
}
