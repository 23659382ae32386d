import type { Command } from 'commander';
import { collect, parseSetPairs, readConfigArg } from '../options.js';

/**
 * `embody train-offline --dataset <dir> [--controller dt|crdt] [--from <dt dir>] [--lora r]`: train the
 * decision transformer offline from a recorded dataset and write runs/<id>/ with policy/ (the DT
 * artifact: dt.json + weights.bin). The env-step training driver (`embody train`) does not fit
 * offline learning (it counts env steps), hence this command.
 */
interface Opts {
  dataset: string;
  controller: string;
  from?: string;
  lora?: string;
  weighting: string;
  updates?: string;
  config?: string;
  set?: string[];
  seed: string;
  eval: string;
  out: string;
}

export function register(program: Command): void {
  program
    .command('train-offline')
    .description('train a decision transformer (dt) or critic-regularised DT (crdt) from a dataset; --from + --lora fine-tunes with LoRA')
    .requiredOption('-d, --dataset <dir>', 'dataset directory (embody collect)')
    .option('-c, --controller <kind>', 'dt or crdt', 'dt')
    .option('--from <dir>', 'start from a trained DT (its policy/ directory)')
    .option('--lora <r>', 'LoRA rank: freeze the base weights, train rank-r adapters on q, k, v, o and the MLP')
    .option('--weighting <w>', 'trajectory sampling: uniform, return (RW) or advantage (AW)', 'uniform')
    .option('--updates <n>', 'gradient updates')
    .option('--config <file>', 'JSON file merged over the DT defaults')
    .option('--set <key=value>', 'override one config key (repeatable), e.g. --set K=10 --set embed=64', collect, [] as string[])
    .option('-s, --seed <s>', 'seed', '0')
    .option('--eval <n>', 'evaluation episodes in the dataset\'s scene afterwards', '5')
    .option('-o, --out <dir>', 'where run directories go', 'runs')
    .action(async (opts: Opts) => {
      // The config first: a bad file or key is reported before any data is read.
      const over: Record<string, unknown> = { ...readConfigArg(opts.config), ...parseSetPairs(opts.set) };
      (await import('../../../controllers/dt/config.js')).dtConfig(over); // a typo'd key or bad value: a clear error now
      const path = await import('node:path');
      const { initBackend } = await import('../../../controllers/backend.js');
      const { readDataset } = await import('../../data/minari.js');
      const { trainDt } = await import('../../../controllers/dt/train.js');
      const { saveDt, loadDt } = await import('../../../controllers/dt/artifact.js');
      const { DtController } = await import('../../../controllers/dt/infer.js');
      const { evaluateOffline } = await import('../../data/evaluate.js');
      const { RunDir } = await import('../../experiment/run-dir.js');
      const report = await initBackend();
      const ds = await readDataset(opts.dataset);
      const seed = Number(opts.seed);
      let init: Record<string, Float32Array> | undefined;
      if (opts.from) {
        const base = loadDt(opts.from);
        // Keep the base architecture; LoRA adds adapters to it.
        for (const k of ['K', 'embed', 'layers', 'heads', 'mlpRatio', 'maxTimestep'] as const) over[k] = base.config[k];
        init = base.weights;
      }
      if (opts.controller === 'crdt') over.eta ??= 1;
      else if (opts.controller !== 'dt') throw new Error(`--controller must be dt or crdt, got "${opts.controller}"`);
      if (opts.updates) over.updates = Number(opts.updates);
      if (!['uniform', 'return', 'advantage'].includes(opts.weighting)) throw new Error(`--weighting must be uniform, return or advantage`);
      over.weighting = opts.weighting;
      const lora = opts.lora ? Number(opts.lora) : 0;
      if (lora) {
        if (!init) throw new Error('--lora needs --from <pretrained DT>');
        over.loraRank = lora;
        over.loraAlpha ??= 2 * lora;
      }
      const run = RunDir.create(opts.out, { command: 'train-offline', scene: ds.meta.scene, controller: opts.controller + (lora ? `-lora${lora}` : ''), seed, backend: report.backend, dataset: path.resolve(opts.dataset), from: opts.from ?? null, config: over, argv: process.argv.slice(2) });
      const obsChanged = init && init.st_W && init.st_W.length !== ds.meta.obsDim * Number(over.embed);
      const m = await trainDt(ds, over, {
        seed,
        init,
        lora: lora > 0,
        // A new observation size needs a new state embedding, which then trains too.
        alsoTrain: obsChanged ? (n) => n === 'st_W' || n === 'st_b' : undefined,
        onLog: (u, f) => {
          run.logMetrics(u, f);
          if (process.stderr.isTTY) process.stderr.write(`\rupdate ${u}  loss ${f.loss.toFixed(4)}`);
        },
      });
      if (process.stderr.isTTY) process.stderr.write('\n');
      await saveDt(run.path('policy'), m, { taskId: ds.meta.taskId, scene: ds.meta.scene, kind: opts.controller, task: await taskParamsOfScene(ds.meta.scene), runId: run.id });
      let evalSummary: unknown = null;
      const n = Number(opts.eval);
      if (n > 0) {
        const ev = await evaluateOffline(ds.meta.scene, new DtController(m, m.targetReturn), n, 90_000 + seed);
        evalSummary = ev.summary;
        console.log(`eval (${n} episodes, target return ${m.targetReturn.toFixed(1)}): efficiency ${ev.summary.efficiencyBitPerJ.toFixed(0)} bit/J, collected ${(100 * ev.summary.fractionCollected).toFixed(1)}%, return ${ev.summary.return.toFixed(2)}`);
      }
      run.writeSummary({ stats: m.stats, eval: evalSummary, targetReturn: m.targetReturn, rtgScale: m.rtgScale });
      console.log(`${opts.controller}${lora ? ` + LoRA r=${lora}` : ''}: ${m.stats.updates} updates in ${m.stats.seconds.toFixed(1)} s, trainable ${m.stats.trainableParams}/${m.stats.totalParams} (${(100 * m.stats.trainableShare).toFixed(1)}%) → ${run.dir}/policy`);
    });
}

/** The task parameters a DT artifact records (limits, timing, scene), or null when the dataset's scene is not at hand. */
async function taskParamsOfScene(sceneRef: string) {
  const { createEnv, loadScene } = await import('../../../sim/registry.js');
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
