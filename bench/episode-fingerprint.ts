import { createHash, type Hash } from 'node:crypto';
import { writeJsonAtomic } from '../src/core/atomic.js';
import { runEpisodes } from '../src/experiment/rollout.js';
import { createController } from '../controllers/load.js';
import { createEnv } from '../sim/registry.js';

/**
 * A refactor's proof of "bit-exact": whole episodes hashed, every observation (its bytes),
 * action, reward, termination and info, every viewer description and frame (poses as float32
 * bytes), and the episode results less their wall time. Run it before and after a change and
 * diff the two files:
 *
 *   npx tsx bench/episode-fingerprint.ts --out /tmp/before.json
 *   npx tsx bench/episode-fingerprint.ts --out /tmp/after.json && diff /tmp/before.json /tmp/after.json
 *
 * `--jobs '[["manip-clutter","heuristic",3,0]]'` (scene, controller, episodes, first seed) replaces the default list.
 */
export type FingerprintJob = [scene: string, controller: string, episodes: number, seed: number];

export interface Fingerprint {
  scene: string;
  controller: string;
  episodes: number;
  seed: number;
  steps: number;
  frames: number;
  returns: number[];
  endReasons: string[];
  sha256: string;
}

/** Every manipulation scene (scripted and random motions), and one run of each other Rapier task. */
export const DEFAULT_JOBS: FingerprintJob[] = [
  ['manip-clutter', 'heuristic', 3, 0],
  ['manip-clutter', 'random', 3, 0],
  ['manip-hidden', 'heuristic', 3, 0],
  ['manip-hidden', 'random', 2, 0],
  ['manip-dense', 'heuristic', 3, 0],
  ['manip-dense', 'random', 2, 0],
  ['manip-mixed', 'heuristic', 3, 0],
  ['manip-mixed', 'random', 2, 0],
  ['nav-office', 'nav-pursuit-critic', 2, 0],
  ['nav-apartment', 'random', 2, 0],
  ['nav-waypoint', 'random', 2, 0],
  ['uav-small', 'tour', 2, 0],
  ['uav-city', 'random', 1, 0],
];

/** JSON with typed arrays as base64 of their bytes, so that a float differs in the hash when one bit does. */
function exactJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => {
    if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
    return typeof v === 'bigint' ? String(v) : v;
  });
}

function hashObservation(h: Hash, obs: unknown): void {
  h.update(ArrayBuffer.isView(obs) ? Buffer.from(obs.buffer, obs.byteOffset, obs.byteLength) : exactJson(obs));
}

export async function fingerprint([scene, controllerName, episodes, seed]: FingerprintJob): Promise<Fingerprint> {
  const env = await createEnv(scene, { seed });
  const controller = await createController(controllerName, env.spec, { seed, model: env.model, options: {} });
  const h = createHash('sha256');
  let steps = 0;
  let frames = 0;
  const step = env.step.bind(env);
  env.step = (action) => {
    const r = step(action);
    steps++;
    h.update(exactJson(action));
    hashObservation(h, r.obs);
    h.update(exactJson({ reward: r.reward, terminated: r.terminated, truncated: r.truncated, info: r.info }));
    return r;
  };
  const reset = env.reset.bind(env);
  env.reset = (options) => {
    const r = reset(options);
    hashObservation(h, r.obs);
    h.update(exactJson(r.info ?? null));
    return r;
  };
  const sink = {
    describe: (d: unknown) => void h.update(exactJson(d)),
    frame: (f: unknown) => {
      frames++;
      h.update(exactJson(f));
    },
  };
  try {
    const results = await runEpisodes({ env, controller, episodes, seed, sinks: [sink] });
    for (const r of results) h.update(exactJson({ ...r, wallSeconds: 0 }));
    return { scene, controller: controllerName, episodes, seed, steps, frames, returns: results.map((r) => r.return), endReasons: results.map((r) => r.endReason), sha256: h.digest('hex') };
  } finally {
    controller.dispose?.();
    env.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const jobsArg = arg('--jobs');
  const jobs: FingerprintJob[] = jobsArg ? JSON.parse(jobsArg) : DEFAULT_JOBS;
  const out: Fingerprint[] = [];
  for (const job of jobs) {
    const f = await fingerprint(job);
    console.log(JSON.stringify(f));
    out.push(f);
  }
  const file = arg('--out');
  if (file) writeJsonAtomic(file, out);
}
