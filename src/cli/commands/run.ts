import type { Command } from 'commander';
import { addControllerOptions, parseControllerOptions } from '../controller-options.js';

/**
 * `embody run <scene> --controller <name|policy dir>`: run episodes headless, print a
 * mean ± std table and write a run directory. `--view` streams to the browser viewer,
 * `--record` writes each episode as MCAP.
 */
interface RunOptions {
  controller: string;
  episodes: string;
  seed: string;
  out: string;
  view?: string | boolean;
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
    .argument('[scene]', 'scene name under scenes/ or a path to a scene file', 'uav-small')
    .option('-c, --controller <name|dir>', 'scripted controller name, or a policy artifact directory', 'greedy')
    .option('-n, --episodes <n>', 'number of episodes', '5')
    .option('-s, --seed <s>', 'seed of the first episode; episode i uses seed + i', '0')
    .option('-o, --out <dir>', 'where run directories go', 'runs')
    .option('--view [port]', 'stream live to the browser viewer (default port 8080)')
    .option('--realtime', 'with --view: pace the simulation at wall-clock speed')
    .option('--record', 'record each episode to <run>/episodes/<n>.mcap (Foxglove-compatible)')
    .option('--no-save', 'do not write a run directory')
    .option('--json', 'print the summary as JSON');
  addControllerOptions(cmd)
    .action(async (sceneRef: string, opts: RunOptions) => {
      const { createEnv, loadScene } = await import('../../../sim/registry.js');
      const { createController, isPolicyDir } = await import('../../../controllers/load.js');
      const { runEpisodes, summarise, formatSummary } = await import('../../experiment/rollout.js');
      const { RunDir } = await import('../../experiment/run-dir.js');
      const { createProgress } = await import('../../experiment/progress.js');
      const episodes = parseIntStrict(opts.episodes, '--episodes');
      const seed = parseIntStrict(opts.seed, '--seed');
      const { scene, file } = loadScene(sceneRef);
      const env = await createEnv(scene, { seed });
      const controllerOptions = parseControllerOptions(opts.controllerOpt);
      const controller = await createController(opts.controller, env.spec, { seed, model: env.model, options: controllerOptions });
      const backend = isPolicyDir(opts.controller) ? (await import('@tensorflow/tfjs')).getBackend() : 'none';

      const run = opts.save
        ? RunDir.create(opts.out, {
            command: 'run',
            scene: scene.name,
            sceneFile: file,
            sceneConfig: scene,
            controller: opts.controller,
            controllerOptions,
            seed,
            episodes,
            backend,
            argv: process.argv.slice(2),
          })
        : null;

      const sinks: import('../../core/frames.js').FrameSink[] = [];
      let viewer: import('../../viewer/live.js').LiveViewer | null = null;
      if (opts.view !== undefined && opts.view !== false) {
        const port = opts.view === true ? 8080 : parseIntStrict(String(opts.view), '--view');
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

      const progress = createProgress(episodes * env.spec.maxEpisodeSteps, `${scene.name} ${opts.controller}`);
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
      // The live viewer stays up after the run (it is closed on Ctrl-C); recorders close now.
      for (const s of sinks) if (s !== (viewer as unknown)) await s.close?.();
      if (run) run.writeSummary({ scene: scene.name, controller: opts.controller, seed, episodes, wallSeconds: wall, summary, episodesDetail: results });
      if (opts.json) console.log(JSON.stringify({ scene: scene.name, controller: opts.controller, seed, episodes, summary }, null, 2));
      else {
        console.log(`${scene.name} · ${opts.controller} · ${episodes} episodes · seed ${seed} · ${wall.toFixed(1)} s`);
        console.log(formatSummary(summary));
        const reasons = countBy(results.map((r) => r.endReason));
        console.log(`ends: ${Object.entries(reasons).map(([k, v]) => `${k} ×${v}`).join(', ')}`);
        if (run) console.log(`run directory: ${run.dir}`);
      }
      controller.dispose?.();
      env.close();
      if (viewer) {
        const live = viewer;
        process.stderr.write(`viewer still serving at ${live.url}; Ctrl-C to stop\n`);
        process.once('SIGINT', () => void Promise.resolve(live.close?.()).then(() => process.exit(0)));
      }
    });
}

function parseIntStrict(v: string, name: string): number {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new Error(`${name} expects an integer, got "${v}"`);
  return n;
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
