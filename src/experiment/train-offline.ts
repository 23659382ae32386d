import path from 'node:path';
import { ContractError } from '../core/errors.js';

/**
 * `trainOffline(opts)`: train the decision transformer (dt) or its critic-regularised variant
 * (crdt) from a recorded dataset, write a run directory with `policy/` (the DT artifact), and
 * evaluate it in the dataset's scene. The engine of `embody train-offline` and of a sweep's
 * `train-offline` trials. The env-step training driver (train.ts) does not fit offline learning
 * (it counts env steps), hence a driver of its own.
 */
export interface TrainOfflineOptions {
  /** Dataset directory (`embody collect`). */
  dataset: string;
  /** `dt` (default) or `crdt` (sets eta = 1 unless the config gives it). */
  controller?: string;
  /** A trained DT (its policy/ directory) to start from; its architecture is kept. */
  from?: string;
  /** LoRA rank (needs `from`): freeze the base weights, train rank-r adapters. */
  lora?: number;
  /** Trajectory sampling: uniform (default), return (RW) or advantage (AW). */
  weighting?: string;
  /** Gradient updates (else the DT config's). */
  updates?: number;
  /** Merged over the DT defaults (`--config <file>` and `--set`). */
  config?: Record<string, unknown>;
  seed?: number;
  /** Evaluation episodes in the dataset's scene afterwards (default 5; 0: none). */
  evalEpisodes?: number;
  /** Where run directories go (default `runs`). */
  out?: string;
  /** The command line, recorded in config.json. */
  argv?: string[];
  /** Each gradient update's figures (the CLI draws its progress from them). */
  onUpdate?: (update: number, figures: Record<string, number>) => void;
  /** Lines for people: the evaluation and the final report. */
  log?: (line: string) => void;
}

export interface TrainOfflineResult {
  runDir: string;
  summary: { stats: unknown; eval: unknown; targetReturn: number; rtgScale: number };
}

const WEIGHTINGS = ['uniform', 'return', 'advantage'];

export async function trainOffline(opts: TrainOfflineOptions): Promise<TrainOfflineResult> {
  const controller = opts.controller ?? 'dt';
  const weighting = opts.weighting ?? 'uniform';
  const seed = opts.seed ?? 0;
  const lora = opts.lora ?? 0;
  const log = opts.log ?? (() => {});
  // Bad options first: reported before any data is read.
  if (controller !== 'dt' && controller !== 'crdt') throw new ContractError(`--controller must be dt or crdt, got "${controller}"`);
  if (!WEIGHTINGS.includes(weighting)) throw new ContractError(`--weighting must be uniform, return or advantage`);
  if (lora && !opts.from) throw new ContractError('--lora needs --from <pretrained DT>');
  const over: Record<string, unknown> = { ...(opts.config ?? {}) };
  (await import('../../controllers/dt/config.js')).dtConfig(over); // a typo'd key or bad value: a clear error now
  const { initBackend } = await import('../../controllers/backend.js');
  const { readDataset } = await import('../data/minari.js');
  const { trainDt } = await import('../../controllers/dt/train.js');
  const { saveDt, loadDt } = await import('../../controllers/dt/artifact.js');
  const { DtController } = await import('../../controllers/dt/infer.js');
  const { evaluateOffline } = await import('../data/evaluate.js');
  const { RunDir } = await import('./run-dir.js');
  const report = await initBackend();
  const ds = await readDataset(opts.dataset);
  let init: Record<string, Float32Array> | undefined;
  if (opts.from) {
    const base = loadDt(opts.from);
    // Keep the base architecture; LoRA adds adapters to it.
    for (const k of ['K', 'embed', 'layers', 'heads', 'mlpRatio', 'maxTimestep'] as const) over[k] = base.config[k];
    init = base.weights;
  }
  if (controller === 'crdt') over.eta ??= 1;
  if (opts.updates !== undefined) over.updates = opts.updates;
  over.weighting = weighting;
  if (lora) {
    over.loraRank = lora;
    over.loraAlpha ??= 2 * lora;
  }
  const run = RunDir.create(opts.out ?? 'runs', {
    command: 'train-offline',
    scene: ds.meta.scene,
    controller: controller + (lora ? `-lora${lora}` : ''),
    seed,
    backend: report.backend,
    dataset: path.resolve(opts.dataset),
    from: opts.from ?? null,
    config: over,
    argv: opts.argv ?? [],
  });
  const obsChanged = init && init.st_W && init.st_W.length !== ds.meta.obsDim * Number(over.embed);
  const m = await trainDt(ds, over, {
    seed,
    init,
    lora: lora > 0,
    // A new observation size needs a new state embedding, which then trains too.
    alsoTrain: obsChanged ? (n) => n === 'st_W' || n === 'st_b' : undefined,
    onLog: (u, f) => {
      run.logMetrics(u, f);
      opts.onUpdate?.(u, f);
    },
  });
  await saveDt(run.path('policy'), m, { taskId: ds.meta.taskId, scene: ds.meta.scene, kind: controller, task: await taskParamsOfScene(ds.meta.scene), runId: run.id });
  let evalSummary: unknown = null;
  const n = opts.evalEpisodes ?? 5;
  if (n > 0) {
    const ev = await evaluateOffline(ds.meta.scene, new DtController(m, m.targetReturn), n, 90_000 + seed);
    evalSummary = ev.summary;
    log(`eval (${n} episodes, target return ${m.targetReturn.toFixed(1)}): efficiency ${ev.summary.efficiencyBitPerJ.toFixed(0)} bit/J, collected ${(100 * ev.summary.fractionCollected).toFixed(1)}%, return ${ev.summary.return.toFixed(2)}`);
  }
  const summary = { stats: m.stats, eval: evalSummary, targetReturn: m.targetReturn, rtgScale: m.rtgScale };
  run.writeSummary(summary);
  log(`${controller}${lora ? ` + LoRA r=${lora}` : ''}: ${m.stats.updates} updates in ${m.stats.seconds.toFixed(1)} s, trainable ${m.stats.trainableParams}/${m.stats.totalParams} (${(100 * m.stats.trainableShare).toFixed(1)}%) → ${run.dir}/policy`);
  return { runDir: run.dir, summary };
}

/** The task parameters a DT artifact records (limits, timing, scene), or null when the dataset's scene is not at hand. */
async function taskParamsOfScene(sceneRef: string) {
  const { createEnv, loadScene } = await import('../../sim/registry.js');
  let scene;
  try {
    scene = loadScene(sceneRef).scene;
  } catch {
    return null;
  }
  const env = await createEnv(scene, { seed: 0 });
  const task = env.taskParams(scene);
  env.close();
  return task;
}
