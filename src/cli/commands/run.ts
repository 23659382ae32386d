import type { Command } from 'commander';
import { addControllerOptions, parseControllerOptions } from '../controller-options.js';
import { addAlias, addEpisodeOptions, addViewOptions, checkControllerName, controllerRef, DEFAULT_SCENE, parseEpisodeOptions, viewerPort } from '../options.js';
import type { LoadedScene } from '../../../sim/registry.js';

/**
 * `embody run <scene> --controller <name|policy dir>`: run episodes headless, print a
 * mean ± std table and write a run directory. `--view` streams to the browser viewer,
 * `--record` writes each episode as MCAP. Without -c, the task's own baseline runs.
 */
export interface RunOptions {
  controller?: string;
  episodes: string;
  seed: string;
  out: string;
  view?: string | boolean;
  port?: string;
  record?: boolean;
  save: boolean;
  json?: boolean;
  realtime?: boolean;
  controllerOpt?: string[];
}

export function register(program: Command): void {
  const cmd = program
    .command('run')
    .description('run episodes of a controller in a scene, headless; prints mean ± std and writes runs/<id>/')
    .argument('[scene]', 'scene name under scenes/ or a path to a scene file', DEFAULT_SCENE)
    .option('-c, --controller <name|dir>', "scripted controller, policy directory or run directory (default: the task's baseline)");
  addEpisodeOptions(cmd).option('-o, --out <dir>', 'where run directories go', 'runs');
  addViewOptions(cmd, 'stream live')
    .option('--realtime', 'with --view: pace the simulation at wall-clock speed')
    .option('--record', 'record each episode to <run>/episodes/<n>.mcap (Foxglove-compatible)')
    .option('--no-save', 'do not write a run directory')
    .option('--json', 'print the summary as JSON');
  addControllerOptions(cmd)
    .action(async (sceneRef: string, opts: RunOptions) => {
      await runCommand(sceneRef, opts);
    });
  addAlias(cmd, '--policy <dir>', 'controller', '-c/--controller');
}

/** The body of `embody run`; `embody rerun` calls it with the recorded scene object. */
export async function runCommand(sceneArg: string | LoadedScene['scene'], opts: RunOptions, recordedFile?: string | null): Promise<string | null> {
  const { createEnv, loadScene, baselineOf } = await import('../../../sim/registry.js');
  const { createController, isPolicyDir } = await import('../../../controllers/load.js');
  const { runEpisodes, summarise, formatSummary } = await import('../../experiment/rollout.js');
  const { RunDir } = await import('../../experiment/run-dir.js');
  const { createProgress } = await import('../../experiment/progress.js');
  const { formatDuration } = await import('../../core/format.js');
  const { episodes, seed } = parseEpisodeOptions(opts);
  const port = viewerPort(opts);
  const { scene, file } = typeof sceneArg === 'string' ? loadScene(sceneArg) : { scene: sceneArg, file: recordedFile ?? null };
  const controllerName = await controllerRef(opts.controller ?? baselineOf(scene));
  const env = await createEnv(scene, { seed });
  await checkControllerName(controllerName, env.spec.id);
  const controllerOptions = parseControllerOptions(opts.controllerOpt);
  const controller = await createController(controllerName, env.spec, { seed, model: env.model, options: controllerOptions });
  const backend = isPolicyDir(controllerName) ? (await import('@tensorflow/tfjs')).getBackend() : 'none';

  const run = opts.save
    ? RunDir.create(opts.out, {
        command: 'run',
        scene: scene.name,
        sceneFile: file,
        sceneConfig: scene,
        controller: controllerName,
        controllerOptions,
        seed,
        episodes,
        backend,
        argv: process.argv.slice(2),
      })
    : null;

  const sinks: import('../../core/frames.js').FrameSink[] = [];
  let viewer: import('../../viewer/live.js').LiveViewer | null = null;
  if (port !== undefined) {
    const { startLiveViewer } = await import('../../viewer/live.js');
    const live = await startLiveViewer({ port, runsDir: opts.out });
    viewer = live;
    sinks.push(live);
    if (opts.realtime) sinks.push(realtimePacer(env.spec.controlPeriod));
    process.stderr.write(`viewer: ${live.url}\n`);
  }
  if (opts.record) {
    if (!run) throw new Error('--record needs a run directory; drop --no-save');
    const { createMcapSink } = await import('../../record/mcap-sink.js');
    sinks.push(createMcapSink(run.path('episodes')));
  }

  const progress = createProgress(episodes * env.spec.maxEpisodeSteps, `${scene.name} ${controllerName}`);
  const t0 = performance.now();
  const results = await runEpisodes({
    env,
    controller,
    episodes,
    seed,
    sinks,
    onStep: () => progress.tick(),
    onEpisode: (r) => {
      progress.tick(env.spec.maxEpisodeSteps - r.length);
      run?.logMetrics(r.episode, { episode: r.episode, seed: r.seed, return: r.return, length: r.length, endReason: r.endReason, ...r.metrics });
    },
  });
  progress.stop();
  const wall = (performance.now() - t0) / 1000;
  const summary = summarise(results);
  // A viewer this run hosts stays up after it (closed on Ctrl-C); one that streams to an
  // `embody view` elsewhere, and the recorders, close now, so the command exits.
  const hosting = Boolean(viewer?.server);
  for (const s of sinks) if (!(hosting && s === (viewer as unknown))) await s.close?.();
  if (run) run.writeSummary({ scene: scene.name, controller: controllerName, seed, episodes, wallSeconds: wall, summary, episodesDetail: results });
  if (opts.json) console.log(JSON.stringify({ scene: scene.name, controller: controllerName, seed, episodes, summary }, null, 2));
  else {
    console.log(`${scene.name} · ${controllerName} · ${episodes} episodes · seeds ${seed}–${seed + episodes - 1} · ${formatDuration(wall)}`);
    console.log(formatSummary(summary));
    const reasons = countBy(results.map((r) => r.endReason));
    console.log(`ends: ${Object.entries(reasons).map(([k, v]) => `${k} ×${v}`).join(', ')}`);
    if (run) console.log(`run directory: ${run.dir}`);
  }
  controller.dispose?.();
  env.close();
  if (viewer && hosting) {
    const live = viewer;
    process.stderr.write(`viewer still serving at ${live.url}; Ctrl-C to stop\n`);
    process.once('SIGINT', () => void Promise.resolve(live.close?.()).then(() => process.exit(0)));
  }
  return run?.dir ?? null;
}

function countBy(xs: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}

/** A sink that sleeps so that frames go out at the control rate, for watching live. */
function realtimePacer(period: number): import('../../core/frames.js').FrameSink {
  let next = 0;
  return {
    describe() {},
    async frame() {
      const now = performance.now();
      if (next === 0 || now > next + 1000) next = now;
      next += period * 1000;
      const wait = next - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    },
  };
}
