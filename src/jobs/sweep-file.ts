import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ValidationError } from '../core/errors.js';
import { writeJsonAtomic } from '../core/atomic.js';
import { stamp } from '../experiment/run-dir.js';
import { FileEntry } from './files.js';
import { configLabel, expandTrials, SweepSpec } from './spec.js';

/**
 * `sweeps/<time>-<name>/sweep.json`: the spec and every trial's config, status and summary.
 * The coordinator is its only writer, and writes it atomically after every change. Results are
 * recorded once: a trial that is `done` takes no second result (a retried job's duplicate), and
 * each recording also appends one line to results.jsonl, the audit trail of that rule.
 */
export const TRIAL_STATUSES = ['queued', 'running', 'done', 'failed'] as const;

export const TrialRecord = z.object({
  id: z.string(),
  configIndex: z.number().int(),
  /** What the configuration varies, e.g. "learningRate=0.001" (plots group by it). */
  label: z.string(),
  config: z.record(z.string(), z.unknown()),
  scene: z.string().nullable(),
  seed: z.number().int(),
  status: z.enum(TRIAL_STATUSES),
  /** The run directory, relative to the sweep directory (`<trial>/<run id>`). */
  runDir: z.string().nullable(),
  summary: z.record(z.string(), z.unknown()).nullable(),
  /** The spec's metric read from the summary. */
  score: z.number().nullable(),
  attempts: z.number().int(),
  worker: z.string().nullable(),
  /** The newest checkpoint the coordinator holds (train steps). */
  checkpointStep: z.number().nullable(),
  error: z.string().nullable(),
  files: z.array(FileEntry),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
});
export type TrialRecord = z.infer<typeof TrialRecord>;

export const SweepFile = z.object({
  format: z.literal('embody.sweep/1'),
  id: z.string(),
  spec: SweepSpec,
  createdAt: z.string(),
  updatedAt: z.string(),
  /** Where trials ran: the local pool, or a BullMQ queue (its URL without the password). */
  queue: z.string().nullable(),
  store: z.enum(['local', 'redis', 'shared']),
  trials: z.array(TrialRecord),
  best: z.object({ trialId: z.string(), label: z.string(), score: z.number() }).nullable(),
});
export type SweepFile = z.infer<typeof SweepFile>;

const DEFAULT_METRIC: Record<SweepSpec['command'], string> = {
  train: 'finalEval.return.mean',
  'train-offline': 'eval.return',
  collect: 'return.mean',
  eval: 'summary.return.mean',
  function: 'score',
};

export function scoreOf(spec: SweepSpec, summary: Record<string, unknown> | null): number | null {
  let v: unknown = summary;
  for (const k of (spec.metric ?? DEFAULT_METRIC[spec.command]).split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

export class SweepRecord {
  private constructor(
    readonly dir: string,
    readonly state: SweepFile,
  ) {}

  get id(): string {
    return this.state.id;
  }
  get spec(): SweepSpec {
    return this.state.spec;
  }

  static create(root: string, spec: SweepSpec, where: { queue: string | null; store: SweepFile['store'] }): SweepRecord {
    const id = `${stamp()}-${spec.name}`;
    let dir = path.resolve(root, id);
    for (let i = 2; existsSync(dir); i++) dir = path.resolve(root, `${id}-${i}`);
    mkdirSync(dir, { recursive: true });
    const now = new Date().toISOString();
    const trials: TrialRecord[] = expandTrials(spec).map((t) => ({
      id: t.id,
      configIndex: t.configIndex,
      label: configLabel(spec, t.config),
      config: t.config,
      scene: t.scene ?? null,
      seed: t.seed,
      status: 'queued',
      runDir: null,
      summary: null,
      score: null,
      attempts: 0,
      worker: null,
      checkpointStep: null,
      error: null,
      files: [],
      startedAt: null,
      finishedAt: null,
    }));
    const rec = new SweepRecord(dir, { format: 'embody.sweep/1', id: path.basename(dir), spec, createdAt: now, updatedAt: now, ...where, trials, best: null });
    rec.save();
    return rec;
  }

  static open(dir: string): SweepRecord {
    const file = path.join(dir, 'sweep.json');
    if (!existsSync(file)) throw new ValidationError(`${dir}: not a sweep directory (no sweep.json)`);
    const r = SweepFile.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    if (!r.success) throw new ValidationError(`${file}: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    return new SweepRecord(path.resolve(dir), r.data);
  }

  trial(id: string): TrialRecord {
    const t = this.state.trials.find((x) => x.id === id);
    if (!t) throw new Error(`sweep ${this.id} has no trial ${id}`);
    return t;
  }

  trialDir(id: string): string {
    return path.join(this.dir, id);
  }

  update(id: string, patch: Partial<TrialRecord>): void {
    const t = this.trial(id);
    if (t.status === 'done') return; // final: nothing after the recorded result changes it
    Object.assign(t, patch);
    this.save();
  }

  /** Record a trial's result; false (and nothing written) if it already has one. */
  recordResult(id: string, result: { runDir: string; summary: Record<string, unknown>; files: FileEntry[]; worker?: string | null }): boolean {
    const t = this.trial(id);
    if (t.status === 'done') return false;
    const score = scoreOf(this.spec, result.summary);
    Object.assign(t, {
      status: 'done',
      runDir: path.join(id, result.runDir),
      summary: result.summary,
      score,
      files: result.files,
      error: null,
      worker: result.worker ?? t.worker,
      finishedAt: new Date().toISOString(),
    } satisfies Partial<TrialRecord>);
    const better = (a: number, b: number) => (this.spec.mode === 'max' ? a > b : a < b);
    if (score !== null && (!this.state.best || better(score, this.state.best.score))) this.state.best = { trialId: id, label: t.label, score };
    appendFileSync(path.join(this.dir, 'results.jsonl'), JSON.stringify({ trial: id, score, worker: t.worker, attempts: t.attempts, time: t.finishedAt }) + '\n');
    this.save();
    return true;
  }

  counts(): Record<(typeof TRIAL_STATUSES)[number], number> {
    const c = { queued: 0, running: 0, done: 0, failed: 0 };
    for (const t of this.state.trials) c[t.status]++;
    return c;
  }

  save(): void {
    this.state.updatedAt = new Date().toISOString();
    writeJsonAtomic(path.join(this.dir, 'sweep.json'), this.state);
  }
}
