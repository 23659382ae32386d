import { existsSync, readFileSync, truncateSync, statSync } from 'node:fs';
import path from 'node:path';
import { ValidationError } from '../core/errors.js';
import type { FrameSink } from '../core/frames.js';
import { PACKAGE_ROOT } from '../../sim/scene.js';
import { writeJsonAtomic } from './atomic.js';
import { createProgress } from './progress.js';
import { runEpisodes, summarise } from './rollout.js';
import { RunDir } from './run-dir.js';

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
 * so no env state has to be snapshotted. metrics.jsonl is cut back to the checkpoint's line count.
 *
 * Config: learner defaults ← configs/<scene>.<kind>.json ← --config file ← CLI flags.
 * Driver keys (the learner ignores them): steps, evalEvery, evalEpisodes.
 */
export interface TrainOptions {
  scene: string;
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
  /** Called after each checkpoint is complete on disk, before training goes on (src/jobs ships it to the sweep coordinator). */
  onCheckpoint?: (checkpoint: { runDir: string; envSteps: number; evalReturn: number }) => Promise<void> | void;
}

export interface TrainResult {
  runDir: string;
  scene: string;
  controller: string;
  finalEval: { return: { mean: number; std: number }; [k: string]: { mean: number; std: number } } | null;
  bestEvalReturn: number | null;
  envSteps: number;
  wallSeconds: number;
  backend: string;
  /** True when maxWallSeconds stopped the run before `steps`. */
  timedOut: boolean;
}

export const DRIVER_DEFAULTS = { steps: 100_000, evalEvery: 10_000, evalEpisodes: 10 };

/** configs/<scene>.<kind>.json, or {} when there is none. */
export function defaultConfig(scene: string, kind: string): Record<string, unknown> {
  const file = path.join(PACKAGE_ROOT, 'configs', `${path.basename(scene).replace(/\.json$/, '')}.${kind}.json`);
  return existsSync(file) ? readJson(file) : {};
}

function readJson(file: string): Record<string, unknown> {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8'));
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('expected a JSON object');
    return v;
  } catch (err) {
    throw new ValidationError(`${file}: ${(err as Error).message}`, [], { cause: err });
  }
}

/** Evaluation episode j of a run with this seed: disjoint from training seeds (controllers/sac trainEpisodeSeed). */
export const evalEpisodeSeed = (seed: number) => ((seed * 7919 + 0x7f000000) >>> 0);

interface DriverState {
  envSteps: number;
  metricsLines: number;
  bestEvalReturn: number | null;
  wallSeconds: number;
}

export async function train(opts: TrainOptions): Promise<TrainResult> {
  const { initBackend } = await import('../../controllers/backend.js');
  const { createLearner } = await import('../../controllers/registry.js');
  const { createEnv, loadScene } = await import('../../sim/registry.js');

  let run: RunDir;
  let config: Record<string, unknown>;
  let scene: string;
  let kind: string;
  let seed: number;
  let state: DriverState = { envSteps: 0, metricsLines: 0, bestEvalReturn: null, wallSeconds: 0 };

  if (opts.resume) {
    run = RunDir.open(opts.resume);
    const rc = run.config();
    config = { ...(rc.config as Record<string, unknown>), ...(opts.steps ? { steps: opts.steps } : {}) };
    scene = rc.scene;
    kind = rc.controller;
    seed = rc.seed;
    const stateFile = run.path('checkpoints', 'driver.json');
    if (!existsSync(stateFile)) throw new ValidationError(`${opts.resume}: no checkpoint to resume from (checkpoints/driver.json)`);
    state = JSON.parse(readFileSync(stateFile, 'utf8'));
  } else {
    kind = opts.controller;
    seed = opts.seed ?? 0;
    const { scene: sc } = loadScene(opts.scene);
    scene = sc.name;
    config = {
      ...DRIVER_DEFAULTS,
      ...defaultConfig(opts.scene, kind),
      ...(opts.configFile ? readJson(opts.configFile) : {}),
      ...(opts.overrides ?? {}),
      ...(opts.steps ? { steps: opts.steps } : {}),
    };
  }
  // A resumed run uses the backend it was started on (results are bit-exact only on the same backend).
  const recorded = opts.resume ? ((run!.config().backendReport as { selected?: string } | undefined)?.selected ?? run!.config().backend) : undefined;
  const backend = await initBackend(opts.backend ?? recorded ?? (config.backend as string | undefined));
  const sceneRef = opts.resume ? (run!.config().sceneFile as string) ?? scene : opts.scene;
  if (!opts.resume) {
    run = RunDir.create(opts.out ?? 'runs', {
      command: 'train',
      scene,
      sceneFile: loadScene(opts.scene).file,
      controller: kind,
      seed,
      backend: backend.backend,
      backendReport: backend,
      config,
      argv: process.argv.slice(2),
    });
  }
  const steps = Number(config.steps);
  const evalEvery = Number(config.evalEvery);
  const evalEpisodes = Number(config.evalEpisodes);

  const learner = await createLearner(kind, { makeEnv: (s) => createEnv(sceneRef, { seed: s }), seed, config });
  if (opts.resume) {
    await learner.loadCheckpoint(run!.path('checkpoints', 'learner'));
    // Forget metrics written after the checkpoint: the resumed run writes them again.
    const metricsFile = run!.path('metrics.jsonl');
    if (existsSync(metricsFile)) {
      const text = readFileSync(metricsFile, 'utf8');
      const lines = text.split('\n').filter((l) => l.length);
      if (lines.length > state.metricsLines) {
        const keep = lines.slice(0, state.metricsLines).join('\n');
        truncateSync(metricsFile, Buffer.byteLength(keep ? keep + '\n' : ''));
      }
    }
  }
  const r = run!;
  const evalEnv = await createEnv(sceneRef, { seed: evalEpisodeSeed(seed) });
  const spec = evalEnv.spec;
  let metricsLines = state.metricsLines;
  const log = (step: number, figures: Record<string, number | string>) => {
    r.logMetrics(step, figures);
    metricsLines++;
  };

  const quiet = opts.quiet ?? false;
  const tty = process.stderr.isTTY && !quiet;
  const progress = tty ? createProgress(steps, `${scene} ${kind} s${seed}`, ' | return {ret}') : { tick() {}, stop() {} };
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
    if (!tty && !quiet) {
      process.stderr.write(`${scene} ${kind} s${seed}: step ${learner.envSteps}/${steps} eval return ${evalReturn.toFixed(2)} ± ${summary.return.std.toFixed(2)}\n`);
    }
    const meta = { runId: r.id, scene, taskId: spec.id };
    if (bestEvalReturn === null || evalReturn > bestEvalReturn) {
      bestEvalReturn = evalReturn;
      await learner.exportPolicy(r.path('policy-best'), meta);
    }
    // Checkpoint: learner state first, then the driver's (which names the learner checkpoint as valid).
    await learner.saveCheckpoint(r.path('checkpoints', 'learner'));
    const wallSeconds = (performance.now() - t0) / 1000;
    writeJsonAtomic(r.path('checkpoints', 'driver.json'), { envSteps: learner.envSteps, metricsLines, bestEvalReturn, wallSeconds } satisfies DriverState);
    await opts.onCheckpoint?.({ runDir: r.dir, envSteps: learner.envSteps, evalReturn });
    if (opts.maxWallSeconds !== undefined && (performance.now() - tStart) / 1000 > opts.maxWallSeconds && learner.envSteps < steps) {
      timedOut = true;
      break;
    }
  }
  progress.stop();
  const meta = { runId: r.id, scene, taskId: spec.id };
  await learner.exportPolicy(r.path('policy'), meta);
  const wallSeconds = (performance.now() - t0) / 1000;
  const result: TrainResult = { runDir: r.dir, scene, controller: kind, finalEval, bestEvalReturn, envSteps: learner.envSteps, wallSeconds, backend: backend.backend, timedOut };
  r.writeSummary({ scene, controller: kind, seed, steps, envSteps: learner.envSteps, wallSeconds, backend: backend.backend, finalEval, bestEvalReturn, timedOut });
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
  return Number.isFinite(x) ? x.toFixed(1) : '—';
}

/** Size in bytes of a run's checkpoint (for messages). */
export function checkpointBytes(runDir: string): number {
  const f = path.join(runDir, 'checkpoints', 'learner', 'replay.bin');
  return existsSync(f) ? statSync(f).size : 0;
}
