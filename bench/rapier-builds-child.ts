import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import type { Controller } from '../src/core/controller.js';
import { createController } from '../controllers/load.js';
import { loadRapier, useRapierBuild } from '../sim/rapier.js';
import { baselineOf, createEnv, listScenes, loadScene } from '../sim/registry.js';

/**
 * One child process of `embody bench rapier-builds`: loads ONE Rapier build (so no process
 * mixes two wasm modules), then plays the same episodes of every scene 1 + PASSES times (a
 * warm-up, then timed passes), and prints one JSON line: per scene, the seconds spent inside
 * `World.step`, the wall seconds of the episodes, and a sha256 of every observation, reward and
 * end flag of each pass.
 *
 * The physics time is robust to the load of other jobs: the passes replay the same trajectory
 * (that is what the hashes check), so step i does the same work in every pass, and a step's
 * time is its fastest pass (a pre-emption rarely hits the same step of every pass).
 *
 * argv[2]: JSON { package: string | null (null = the project's own build), dir: string
 * (where that package is installed), episodes: number, scenes: string[] | null }.
 */
interface ChildArgs {
  package: string | null;
  dir: string;
  episodes: number;
  scenes: string[] | null;
}

export interface SceneFigures {
  scene: string;
  task: string;
  controller: string;
  envSteps: number;
  physicsSteps: number;
  /** Sum over steps of each step's fastest timed pass, seconds. */
  physicsSeconds: number;
  /** Per timed pass: seconds inside World.step, and wall seconds of the episodes. */
  passPhysicsSeconds: number[];
  wallSeconds: number[];
  /** sha256 of each pass's episodes, the warm-up included (obs, reward, terminated, truncated, final metrics). */
  hashes: string[];
  error?: string;
}

const PASSES = 3;
const args = JSON.parse(process.argv[2] ?? '{}') as ChildArgs;
if (args.package) {
  const require = createRequire(pathToFileURL(`${args.dir}/package.json`));
  const entry = require.resolve(args.package);
  const mod = await import(pathToFileURL(entry).href);
  useRapierBuild(mod.default ?? mod);
}
const R = await loadRapier();

// Time every World.step of this process (performance.now() each side: ~0.1 µs).
let durations: number[] = [];
const step = R.World.prototype.step;
R.World.prototype.step = function (this: InstanceType<typeof R.World>, ...a: Parameters<typeof step>) {
  const t0 = performance.now();
  const out = step.apply(this, a);
  durations.push(performance.now() - t0);
  return out;
};

async function pass(sceneName: string, controllerName: string, episodes: number) {
  const env = await createEnv(sceneName, { seed: 0 });
  const controller: Controller = await createController(controllerName, env.spec, { seed: 0, model: env.model });
  const hash = createHash('sha256');
  durations = [];
  let envSteps = 0;
  const t0 = performance.now();
  try {
    for (let ep = 0; ep < episodes; ep++) {
      let { obs } = env.reset({ seed: ep });
      controller.reset();
      hashObs(hash, obs);
      for (;;) {
        const r = env.step(controller.act(obs, controller.privileged ? env.state : undefined));
        controller.observeReward?.(r.reward);
        envSteps++;
        obs = r.obs;
        hashObs(hash, obs);
        hash.update(new Float64Array([r.reward, r.terminated ? 1 : 0, r.truncated ? 1 : 0]));
        if (r.terminated || r.truncated) {
          hash.update(JSON.stringify(r.info.episode ?? null));
          break;
        }
      }
    }
  } finally {
    controller.dispose?.();
    env.close();
  }
  return { envSteps, durations, wallSeconds: (performance.now() - t0) / 1000, hash: hash.digest('hex') };
}

function hashObs(hash: ReturnType<typeof createHash>, obs: unknown): void {
  if (ArrayBuffer.isView(obs)) hash.update(new Uint8Array(obs.buffer, obs.byteOffset, obs.byteLength));
  else hash.update(JSON.stringify(obs));
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

async function measure(name: string, task: string, controller: string): Promise<SceneFigures> {
  const warm = await pass(name, controller, args.episodes);
  const timed = [];
  for (let i = 0; i < PASSES; i++) timed.push(await pass(name, controller, args.episodes));
  const n = warm.durations.length;
  const sameSteps = timed.every((t) => t.durations.length === n);
  // Step by step, the fastest pass (only when every pass made the same steps; else the fastest whole pass).
  let physicsMs = 0;
  if (sameSteps) for (let i = 0; i < n; i++) physicsMs += Math.min(...timed.map((t) => t.durations[i]));
  else physicsMs = Math.min(...timed.map((t) => sum(t.durations)));
  return {
    scene: name,
    task,
    controller,
    envSteps: warm.envSteps,
    physicsSteps: n,
    physicsSeconds: physicsMs / 1000,
    passPhysicsSeconds: timed.map((t) => sum(t.durations) / 1000),
    wallSeconds: timed.map((t) => t.wallSeconds),
    hashes: [warm.hash, ...timed.map((t) => t.hash)],
  };
}

const scenes = args.scenes ?? listScenes().filter((s) => !s.error).map((s) => s.name);
const out: SceneFigures[] = [];
for (const name of scenes) {
  const task = listScenes().find((s) => s.name === name)?.task ?? '?';
  const baseline = baselineOf(loadScene(name).scene);
  let figures: SceneFigures | null = null;
  for (const controller of baseline === 'random' ? ['random'] : [baseline, 'random']) {
    try {
      figures = await measure(name, task, controller);
      break;
    } catch (e) {
      // A baseline that cannot play this scene falls back to the seeded random controller.
      figures = { scene: name, task, controller, envSteps: 0, physicsSteps: 0, physicsSeconds: 0, passPhysicsSeconds: [], wallSeconds: [], hashes: [], error: (e as Error).message };
    }
  }
  out.push(figures!);
}
process.stdout.write(JSON.stringify({ rapierVersion: R.version(), passes: PASSES, scenes: out }) + '\n');
