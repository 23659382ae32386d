import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { ValidationError } from '../core/errors.js';
import type { FrameSink } from '../core/frames.js';
import type { CheckpointFaults } from '../../controllers/checkpoint/manifest.js';
import type { SkippedGeneration } from '../../controllers/checkpoint/store.js';
import { createProgress } from './progress.js';
import { mergeTrainConfig, readJsonObject } from './train-config.js';
import { runEpisodes, summarise } from './rollout.js';
import { RunDir } from './run-dir.js';
import { unmarkLatest } from './run-index.js';
import { formatMeanStd, formatNumber } from '../core/format.js';
import { BY_RETURN, checkRule, describeRule, isBetter, selectionScore, type SelectionScore } from './select.js';
import type { SelectionRule } from '../../sim/task.js';
import type { LoadedScene } from '../../sim/registry.js';

/**
 * The training driver behind `embody train`. It owns the run directory, evaluation, logging,
 * checkpoints and the final policy; the learner (controllers/registry LEARNERS) owns its own
 * interaction loop and update rule.
 *
 * Loop: learner.learn(nextEval) → deterministic evaluation on a separate env with seeds disjoint
 * from training → metrics.jsonl → atomic checkpoint → (policy-best/ when the eval return is the
 * best so far). At the end: policy/ (final) and summary.json.
 *
 * Resume is bit-exact: checkpoints are taken only between learn() calls, and learners end the
 * episode in progress at the end of every learn() call (both in uninterrupted and resumed runs),
 * so no env state has to be snapshotted.
 *
 * Checkpoints (controllers/checkpoint/README.md): each is a generation `checkpoints/gen-N/` holding
 * `learner/` (the learner's files), `driver.json` (steps, best return, how far metrics.jsonl
 * reaches) and a manifest; resume takes the newest one that verifies. metrics.jsonl is synced
 * before each checkpoint and cut back to exactly the bytes the checkpoint covers on resume.
 * `run.lock` keeps a second process out of a live run.
 *
 * Config: layered in train-config.ts. config.json records the merged config, the learner's full
 * resolved hyper-parameters and the scene itself, so `embody rerun` needs nothing else.
 */
export interface TrainOptions {
  /** A scene name or file, or a validated scene object (recorded whole in config.json either way). */
  scene: string | LoadedScene['scene'];
  controller: string;
  steps?: number;
  seed?: number;
  /** Extra config file (JSON) merged over the per-task defaults. */
  configFile?: string;
  /** Config values merged last (tests, check:learning). */
  overrides?: Record<string, unknown>;
  /** Resume this run directory from its last checkpoint. */
  resume?: string;
  backend?: string;
  out?: string;
  /** Print one line per evaluation (default: when stderr is not a TTY). */
  quiet?: boolean;
  /** Stop (after the current evaluation) once this many wall seconds have passed; the result says so. */
  maxWallSeconds?: number;
  /** Stream evaluation episodes to the live viewer on this port. */
  view?: number;
  /** Record the first episode of each evaluation to episodes/eval-<step>/<n>.mcap. */
  record?: boolean;
  /** Test hook: called at every write and rename of a checkpoint (fault-injection tests kill the process there). */
  checkpointFaults?: CheckpointFaults;
  /** How policy-best/ is chosen (default: the task kind's rule, else the mean return). */
  select?: SelectionRule;
  /** Called after each evaluation with its step and summary (mean and population std per figure). */
  onEval?: (e: { step: number; summary: Record<string, { mean: number; std: number }>; best: boolean }) => void | Promise<void>;
  /** The command line, recorded in config.json (the CLI passes it). */
  argv?: string[];
  /** Where progress goes off a TTY (default: stderr). */
  log?: (line: string) => void;
  /** Called after each checkpoint is complete on disk, before training goes on (src/jobs ships it to the sweep coordinator). */
  onCheckpoint?: (checkpoint: { runDir: string; envSteps: number; evalReturn: number }) => Promise<void> | void;
}

export interface TrainResult {
  runDir: string;
  scene: string;
  controller: string;
  finalEval: { return: { mean: number; std: number }; [k: string]: { mean: number; std: number } } | null;
  bestEvalReturn: number | null;
  /** How policy-best/ was chosen, and the step of the evaluation it came from. */
  selection: { rule: string; step: number | null };
  envSteps: number;
  /** Env steps asked for, after rounding to whole learner iterations. */
  steps: number;
  wallSeconds: number;
  backend: string;
  /** True when maxWallSeconds stopped the run before `steps`. */
  timedOut: boolean;
  /** On resume: the checkpoint used, its env steps, and newer ones skipped as damaged (with the reason). */
  resumedFrom?: { checkpoint: string; envSteps: number; skipped: SkippedGeneration[] };
}

/** Evaluation episode j of a run with this seed: disjoint from training seeds (controllers/sac trainEpisodeSeed). */
export const evalEpisodeSeed = (seed: number) => ((seed * 7919 + 0x7f000000) >>> 0);

/** checkpoints/gen-N/driver.json: the driver's part of a checkpoint. */
interface DriverState {
  envSteps: number;
  /** metrics.jsonl lines and bytes this checkpoint covers. */
  metricsLines: number;
  metricsBytes: number;
  bestEvalReturn: number | null;
  wallSeconds: number;
  /** The best evaluation's selection score and step (absent in checkpoints from before selection rules). */
  bestScore?: SelectionScore | null;
  bestStep?: number | null;
}

/** Resume the run in `runDir` from its newest valid checkpoint (what `embody train --resume` does). */
export function resume(runDir: string, opts: Omit<TrainOptions, 'resume' | 'scene' | 'controller'> = {}): Promise<TrainResult> {
  return train({ ...opts, scene: '', controller: '', resume: runDir });
}

/**
 * Train, holding the run's lock, and on failure leave no orphan: a run directory that fails
 * before its first checkpoint (a bad config value, a crash in the first iteration) is removed;
 * one with a checkpoint stays, since `--resume` can continue it.
 */
export async function train(opts: TrainOptions): Promise<TrainResult> {
  const created: { dir?: string } = {};
  let release: (() => void) | null = null;
  try {
    return await trainRun(opts, created, (run) => (release = run.lock()));
  } catch (err) {
    (release as (() => void) | null)?.();
    release = null;
    if (created.dir && !opts.resume && !hasCheckpoint(created.dir)) {
      rmSync(created.dir, { recursive: true, force: true });
      unmarkLatest(created.dir);
    }
    throw err;
  } finally {
    (release as (() => void) | null)?.();
  }
}

function hasCheckpoint(runDir: string): boolean {
  const root = path.join(runDir, 'checkpoints');
  return existsSync(root) && readdirSync(root).some((n) => /^gen-\d+$/.test(n));
}

async function trainRun(opts: TrainOptions, created: { dir?: string }, lock: (run: RunDir) => void): Promise<TrainResult> {
  const { initBackend } = await import('../../controllers/backend.js');
  const { createLearner } = await import('../../controllers/registry.js');
  const { withWorkerEnvFactory } = await import('../../controllers/learner.js');
  const { createEnv, loadScene, taskKindOf } = await import('../../sim/registry.js');
  const { CheckpointStore } = await import('../../controllers/checkpoint/store.js');
  const { writeFileDurable } = await import('../../controllers/checkpoint/manifest.js');
  const say = opts.log ?? ((line: string) => process.stderr.write(line + '\n'));

  let run: RunDir;
  let config: Record<string, unknown>;
  let scene: string;
  let sceneObject: LoadedScene['scene'];
  let sceneFile: string | null = null;
  let kind: string;
  let seed: number;
  let state: DriverState = { envSteps: 0, metricsLines: 0, metricsBytes: 0, bestEvalReturn: null, wallSeconds: 0 };
  let store: InstanceType<typeof CheckpointStore>;
  let resumedFrom: TrainResult['resumedFrom'];

  if (opts.resume) {
    run = RunDir.open(opts.resume);
    lock(run);
    const rc = run.config();
    config = { ...(rc.config as Record<string, unknown>), ...(opts.steps ? { steps: opts.steps } : {}) };
    scene = rc.scene;
    sceneObject = (rc.sceneConfig as LoadedScene['scene'] | undefined) ?? loadScene((rc.sceneFile as string) ?? scene).scene;
    kind = rc.controller;
    seed = rc.seed;
    store = new CheckpointStore(run.path('checkpoints'));
    store.cleanTemps();
    const { found, skipped } = store.newestValid();
    if (!found) {
      const legacy = existsSync(run.path('checkpoints', 'driver.json')) ? ' (checkpoints/learner/ + driver.json is the layout of embody before generations; start a new run)' : '';
      const why = skipped.length ? skipped.map((s) => `${s.name}: ${s.reason}`).join('; ') : `no checkpoints/gen-* directory${legacy}`;
      throw new ValidationError(`${opts.resume}: no valid checkpoint to resume from (${why})`);
    }
    for (const s of skipped) process.stderr.write(`embody: skipping damaged checkpoint ${s.reason}\n`);
    if (skipped.length) process.stderr.write(`embody: resuming from the previous good checkpoint ${found.dir}\n`);
    state = readJsonObject(path.join(found.dir, 'driver.json')) as unknown as DriverState;
    resumedFrom = { checkpoint: found.dir, envSteps: state.envSteps, skipped };
  } else {
    kind = opts.controller;
    seed = opts.seed ?? 0;
    if (typeof opts.scene === 'string') {
      const loaded = loadScene(opts.scene);
      sceneObject = loaded.scene;
      sceneFile = loaded.file;
    } else sceneObject = opts.scene;
    scene = sceneObject.name;
    config = mergeTrainConfig({ scene: typeof opts.scene === 'string' ? opts.scene : scene, kind, configFile: opts.configFile, overrides: opts.overrides, steps: opts.steps });
  }
  // A resumed run uses the backend it was started on (results are bit-exact only on the same backend).
  const recorded = opts.resume ? ((run!.config().backendReport as { selected?: string } | undefined)?.selected ?? run!.config().backend) : undefined;
  const backend = await initBackend(opts.backend ?? recorded ?? (config.backend as string | undefined));
  // Envs are built from the scene object itself, so a run does not depend on the scene file staying as it was.
  const sceneRef = sceneObject!;
  // ...and the same call is named for worker threads (AsyncVectorEnv: PPO's vectorEnv "async"), where a closure cannot go.
  const registry = new URL(`../../sim/registry.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url);
  const makeEnv = withWorkerEnvFactory((s: number) => createEnv(sceneRef, { seed: s }), { module: registry, exportName: 'createEnv', args: (s) => [sceneRef, { seed: s }] });
  let learner = await createLearner(kind, { makeEnv, seed, config });
  // A learner that steps in whole iterations (PPO rollouts) would overshoot a total that is not a
  // multiple: round it up here, say so, and rebuild the learner so its schedules see the real total.
  const quantum = learner.stepsPerIteration;
  if (!opts.resume && quantum && Number(config.steps) % quantum !== 0) {
    const asked = Number(config.steps);
    config = { ...config, steps: Math.ceil(asked / quantum) * quantum };
    say(`${kind}: --steps ${asked} rounded up to ${config.steps}, a whole number of iterations of ${quantum} env steps`);
    learner.dispose();
    learner = await createLearner(kind, { makeEnv, seed, config });
  }
  const steps = Number(config.steps);
  const evalEvery = Number(config.evalEvery);
  const evalEpisodes = Number(config.evalEpisodes);
  const evalEnv = await createEnv(sceneRef, { seed: evalEpisodeSeed(seed) });
  const rule = opts.select ?? (opts.resume ? (run!.config().select as SelectionRule | undefined) : undefined) ?? taskKindOf(sceneRef.task).selectBy ?? BY_RETURN;
  {
    // Check the rule's names before any training: the figures are return, length and the task's metrics.
    evalEnv.reset({ seed: 0 });
    const names = ['return', 'length', ...Object.keys(evalEnv.model.metrics(evalEnv.state))];
    checkRule(rule, Object.fromEntries(names.map((n) => [n, { mean: 0, std: 0 }])));
  }
  if (!opts.resume) {
    run = RunDir.create(opts.out ?? 'runs', {
      command: 'train',
      scene,
      sceneFile,
      sceneConfig: sceneObject!,
      controller: kind,
      seed,
      backend: backend.backend,
      backendReport: backend,
      config,
      hyperparameters: learner.hyperparameters ?? null,
      select: rule,
      argv: opts.argv ?? [],
    });
    lock(run);
    store = new CheckpointStore(run.path('checkpoints'));
    created.dir = run.dir;
  }
  if (resumedFrom) {
    await learner.loadCheckpoint(path.join(resumedFrom.checkpoint, 'learner'));
    // Forget metrics written after the checkpoint (the resumed run writes them again); keep every line it covers.
    run!.reconcileMetrics(state.metricsBytes, state.metricsLines);
  }
  const r = run!;
  const spec = evalEnv.spec;
  // The scene the policy artifact records (its task parameters: what a robot needs to build observations).
  const sceneConfig = sceneRef;
  let metricsLines = state.metricsLines;
  const log = (step: number, figures: Record<string, number | string>) => {
    r.logMetrics(step, figures);
    metricsLines++;
  };

  const quiet = opts.quiet ?? false;
  const tty = process.stderr.isTTY && !quiet;
  const progress = tty
    ? createProgress(steps, `${scene} ${kind} s${seed}`, { fields: ' | return {ret}', initial: { ret: '—' }, maxSeconds: opts.maxWallSeconds })
    : { tick() {}, stop() {} };
  progress.tick(learner.envSteps, { ret: '—' });
  let lastTrainReturn = NaN;
  const hooks = {
    log: (step: number, figures: Record<string, number>) => log(step, { kind: 'train', ...figures }),
    episode: (step: number, ep: { return: number; length: number; metrics: Record<string, number> }) => {
      lastTrainReturn = ep.return;
      log(step, { kind: 'episode', return: ep.return, length: ep.length, ...ep.metrics });
    },
  };

  // Live viewer and recordings see evaluation episodes only: training episodes are too many and too noisy.
  const viewer = opts.view !== undefined ? await (await import('../viewer/live.js')).startLiveViewer({ port: opts.view, runsDir: opts.out ?? 'runs' }) : null;
  if (viewer) process.stderr.write(`viewer: ${viewer.url}\n`);
  const createMcapSink = opts.record ? (await import('../record/mcap-sink.js')).createMcapSink : null;

  const t0 = performance.now() - state.wallSeconds * 1000;
  let bestEvalReturn = state.bestEvalReturn;
  let bestScore: SelectionScore | null = state.bestScore ?? (state.bestEvalReturn === null ? null : [0, state.bestEvalReturn]);
  let bestStep = state.bestStep ?? null;
  let finalEval: TrainResult['finalEval'] = null;
  let timedOut = false;
  const tStart = performance.now();
  while (learner.envSteps < steps) {
    const before = learner.envSteps;
    const nextEval = Math.min(steps, (Math.floor(before / evalEvery) + 1) * evalEvery);
    const tLearn = performance.now();
    // Tick the bar as the learner goes (learners yield to the event loop every few hundred steps).
    let shown = before;
    const tickBar = () => {
      progress.tick(learner.envSteps - shown, { ret: fmt(lastTrainReturn) });
      shown = learner.envSteps;
    };
    const poll = tty ? setInterval(tickBar, 500) : null;
    await learner.learn(nextEval, hooks);
    if (poll) clearInterval(poll);
    tickBar();
    const learnSeconds = (performance.now() - tLearn) / 1000;

    // Deterministic evaluation: mean action, frozen normalisation, its own env and seeds.
    const controller = learner.evalController();
    const sinks: FrameSink[] = viewer ? [viewer] : [];
    const recorder = createMcapSink ? firstEpisodeOnly(createMcapSink(r.path('episodes', `eval-${String(learner.envSteps).padStart(8, '0')}`))) : null;
    if (recorder) sinks.push(recorder);
    const results = await runEpisodes({ env: evalEnv, controller, episodes: evalEpisodes, seed: evalEpisodeSeed(seed), sinks });
    await recorder?.close?.();
    controller.dispose?.();
    const summary = summarise(results);
    finalEval = summary as TrainResult['finalEval'];
    const evalReturn = summary.return.mean;
    const figures: Record<string, number | string> = { kind: 'eval', return: evalReturn, returnStd: summary.return.std, length: summary.length.mean };
    for (const [k, v] of Object.entries(summary)) if (k !== 'return' && k !== 'length') figures[k] = v.mean;
    figures.envStepsPerSec = (learner.envSteps - before) / Math.max(1e-9, learnSeconds);
    log(learner.envSteps, figures);
    const meta = { runId: r.id, scene, taskId: spec.id, task: evalEnv.taskParams(sceneConfig) };
    const score = selectionScore(summary, rule);
    const best = isBetter(score, bestScore);
    if (best) {
      bestScore = score;
      bestStep = learner.envSteps;
      bestEvalReturn = evalReturn;
      await learner.exportPolicy(r.path('policy-best'), meta);
    }
    if (!tty && !quiet) {
      const selected = rule.metric !== 'return' && summary[rule.metric] ? ` · ${rule.metric} ${formatMeanStd(summary[rule.metric])}` : '';
      say(`${scene} ${kind} s${seed}: step ${learner.envSteps}/${steps} · eval return ${formatMeanStd(summary.return)}${selected}${best ? ' · best' : ''}`);
    }
    await opts.onEval?.({ step: learner.envSteps, summary, best });
    // Checkpoint: one new generation holding the learner and the driver state, metrics synced first.
    const wallSeconds = (performance.now() - t0) / 1000;
    const driver: DriverState = { envSteps: learner.envSteps, metricsLines, metricsBytes: r.syncMetrics().bytes, bestEvalReturn, wallSeconds, bestScore, bestStep };
    await store!.save(async (tmp) => {
      await learner.saveCheckpoint(path.join(tmp, 'learner'), opts.checkpointFaults);
      writeFileDurable(path.join(tmp, 'driver.json'), JSON.stringify(driver, null, 2) + '\n', opts.checkpointFaults);
      return ['driver.json', 'learner/manifest.json'];
    }, opts.checkpointFaults);
    await opts.onCheckpoint?.({ runDir: r.dir, envSteps: learner.envSteps, evalReturn });
    if (opts.maxWallSeconds !== undefined && (performance.now() - tStart) / 1000 > opts.maxWallSeconds && learner.envSteps < steps) {
      timedOut = true;
      break;
    }
  }
  progress.stop();
  const meta = { runId: r.id, scene, taskId: spec.id, task: evalEnv.taskParams(sceneConfig) };
  await learner.exportPolicy(r.path('policy'), meta);
  const wallSeconds = (performance.now() - t0) / 1000;
  const selection = { rule: describeRule(rule), step: bestStep };
  const result: TrainResult = { runDir: r.dir, scene, controller: kind, finalEval, bestEvalReturn, selection, envSteps: learner.envSteps, steps, wallSeconds, backend: backend.backend, timedOut, resumedFrom };
  r.writeSummary({ scene, controller: kind, seed, steps, envSteps: learner.envSteps, wallSeconds, backend: backend.backend, finalEval, bestEvalReturn, selection, timedOut });
  learner.dispose();
  evalEnv.close();
  await viewer?.close?.();
  return result;
}

/** Pass only episode 0 through to `sink`: one recording per evaluation is enough to look at. */
function firstEpisodeOnly(sink: FrameSink): FrameSink {
  let described = false;
  return {
    describe: (d) => {
      if (described) return;
      described = true;
      return sink.describe(d);
    },
    frame: (f) => (f.episode === 0 ? sink.frame(f) : undefined),
    endEpisode: (ep, m) => (ep === 0 ? sink.endEpisode?.(ep, m) : undefined),
    close: () => sink.close?.(),
  };
}

function fmt(x: number): string {
  return formatNumber(x);
}
