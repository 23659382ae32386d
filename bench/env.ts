import os from 'node:os';
import { AsyncVectorEnv } from '../src/core/async-vector-env.js';
import { SyncVectorEnv, type VectorEnv } from '../src/core/vector-env.js';
import { createEnv } from '../sim/registry.js';
import type { TaskEnv } from '../sim/task-env.js';
import type { UavBackend } from '../sim/uav/backend.js';
import { table, writeBenchResult } from './results-io.js';

/**
 * `embody bench env`: how fast the worlds run.
 * - bare Rapier steps/s of each UAV scene's own world;
 * - env control steps/s, one env and a SyncVectorEnv of 8;
 * - the ratio bare/env at the same control rate (bare: the same world, UAV hovering);
 * - envOverRapier: env time over the time of its own World.step calls, each control step at its
 *   fastest of 3 replays (issue 13: ≤ 1.2×);
 * - where a control step's time goes: physics, allocation, observation, the rest.
 */
const UAV_SCENES = ['uav-small', 'uav-city', 'uav-sparse'];

function policyAction(i: number) {
  // A wandering but bounded flight, so that allocation and collection really work.
  return new Float32Array([Math.sin(i * 0.02), Math.cos(i * 0.013), 0.1 * Math.sin(i * 0.05)]);
}

function timeEnvSteps(env: TaskEnv, steps: number): number {
  env.reset({ seed: 0 });
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) {
    const r = env.step(policyAction(i));
    if (r.terminated || r.truncated) env.reset();
  }
  return steps / ((performance.now() - t0) / 1000);
}

function timeVectorSteps(vec: VectorEnv, steps: number): number {
  vec.reset({ seed: 0 });
  for (let i = 0; i < 10; i++) vec.step(Array.from({ length: vec.numEnvs }, () => policyAction(i)));
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) vec.step(Array.from({ length: vec.numEnvs }, () => policyAction(i)));
  return (steps * vec.numEnvs) / ((performance.now() - t0) / 1000);
}

/**
 * Env time over the time of its own World.step calls, robust to other jobs' load: the same
 * control steps (same seed, same actions) are replayed `passes` times, and each control step
 * counts at its fastest pass, for the env step and for the physics inside it. Resets count as env
 * time (a fresh world per episode is part of what the env costs).
 */
function envOverRapierReplayed(env: TaskEnv, backend: UavBackend, steps: number, passes = 3): number {
  const envMs = new Float64Array(steps).fill(Infinity);
  const physicsMs = new Float64Array(steps).fill(Infinity);
  for (let pass = 0; pass < passes; pass++) {
    const prof = { physicsMs: 0, allocationMs: 0, totalMs: 0 };
    backend.profile = prof;
    env.reset({ seed: 0 });
    for (let i = 0; i < steps; i++) {
      const p0 = prof.physicsMs;
      const t0 = performance.now();
      const r = env.step(policyAction(i));
      if (r.terminated || r.truncated) env.reset();
      envMs[i] = Math.min(envMs[i], performance.now() - t0);
      physicsMs[i] = Math.min(physicsMs[i], prof.physicsMs - p0);
    }
  }
  backend.profile = null;
  const sum = (xs: Float64Array) => xs.reduce((a, b) => a + b, 0);
  return sum(envMs) / sum(physicsMs);
}

/**
 * 8 envs of `scene`: SyncVectorEnv, then AsyncVectorEnv on 1, 2 and all cores; env steps/s and
 * speed-up over sync. Interleaved, best of 3, as the rows above: on a shared machine other
 * processes only ever slow a run down, and interleaving gives every configuration the same load.
 */
async function asyncVectorRows(scene: string, steps: number) {
  const N = 8;
  const cores = os.availableParallelism();
  const configs: { workers: number; vec: VectorEnv }[] = [{ workers: 0, vec: new SyncVectorEnv(await Promise.all(Array.from({ length: N }, (_, i) => createEnv(scene, { seed: i })))) }];
  try {
    for (const workers of [...new Set([1, 2, cores])]) {
      configs.push({ workers, vec: await AsyncVectorEnv.create({ module: new URL('../sim/registry.ts', import.meta.url), exportName: 'createEnv', args: Array.from({ length: N }, (_, i) => [scene, { seed: i }]) }, { workers }) });
    }
    const best = configs.map(() => 0);
    for (let rep = 0; rep < 3; rep++) configs.forEach((c, k) => (best[k] = Math.max(best[k], timeVectorSteps(c.vec, steps))));
    const rows = configs.map((c, k) => ({
      scene,
      vectorEnv: c.workers ? 'AsyncVectorEnv' : 'SyncVectorEnv',
      workers: c.workers,
      allCores: c.workers === cores,
      envs: N,
      envStepsPerSec: best[k],
      speedup: best[k] / best[0],
    }));
    return { cores, rows };
  } finally {
    for (const c of configs) c.vec.close();
  }
}

export async function runBench(opts: { quick: boolean; outDir: string }) {
  const controlSteps = opts.quick ? 300 : 3000;
  const rows: Record<string, string | number>[] = [];
  const figures: Record<string, unknown>[] = [];
  for (const name of UAV_SCENES) {
    const env = await createEnv(name, { seed: 0 });
    const backend = env.bundle.backend as UavBackend;
    const substeps = Math.round(env.spec.controlPeriod * backend.scene.physicsHz);
    timeEnvSteps(env, 100); // warm-up (JIT, wasm)
    // Bare physics, same world and same number of Rapier steps per control period.
    // Interleaved, best of 3: other processes on a shared machine only ever slow a run down.
    let rapierStepsPerSec = 0;
    let envPerSec = 0;
    for (let rep = 0; rep < 3; rep++) {
      env.reset({ seed: 0 });
      backend.benchPhysics(200);
      rapierStepsPerSec = Math.max(rapierStepsPerSec, (controlSteps * substeps) / backend.benchPhysics(controlSteps * substeps));
      envPerSec = Math.max(envPerSec, timeEnvSteps(env, controlSteps));
    }
    const bareControlPerSec = rapierStepsPerSec / substeps;

    // Where the time goes, with the backend's profiling counters on.
    backend.profile = { physicsMs: 0, allocationMs: 0, totalMs: 0 };
    env.reset({ seed: 0 });
    let obsMs = 0;
    const model = env.model;
    const obsBuf = new Float32Array(model.observationSpace.size);
    const tAll = performance.now();
    for (let i = 0; i < controlSteps; i++) {
      const r = env.step(policyAction(i));
      const t0 = performance.now();
      model.observe(env.state, obsBuf);
      obsMs += performance.now() - t0;
      if (r.terminated || r.truncated) env.reset();
    }
    const allMs = performance.now() - tAll - obsMs; // the extra observe calls are excluded
    const p = backend.profile;
    backend.profile = null;

    const vec = new SyncVectorEnv(await Promise.all(Array.from({ length: 8 }, (_, i) => createEnv(name, { seed: i }))));
    vec.reset({ seed: 0 });
    const vecSteps = Math.max(40, Math.round(controlSteps / 8));
    const t0 = performance.now();
    for (let i = 0; i < vecSteps; i++) vec.step(Array.from({ length: 8 }, () => policyAction(i)));
    const vecPerSec = (vecSteps * 8) / ((performance.now() - t0) / 1000);
    vec.close();

    const envOverRapier = envOverRapierReplayed(env, backend, controlSteps);
    const share = (ms: number) => (100 * ms) / allMs;
    const row = {
      scene: name,
      rapierStepsPerSec,
      bareControlStepsPerSec: bareControlPerSec,
      envStepsPerSec: envPerSec,
      vec8StepsPerSec: vecPerSec,
      bareOverEnv: bareControlPerSec / envPerSec,
      // The env's time over the time its own World.step calls take: the overhead on the Rapier
      // steps of the trajectory actually flown (bareOverEnv compares with a hovering UAV, whose
      // steps are cheaper: no broad-phase changes, no contacts).
      envOverRapier,
      physicsPct: share(p.physicsMs),
      allocationPct: share(p.allocationMs),
      observationPct: share(obsMs),
      otherPct: share(allMs - p.physicsMs - p.allocationMs - obsMs),
    };
    figures.push({ ...row, substeps, controlSteps });
    rows.push(row);
    env.close();
  }
  for (const name of ['pendulum', 'cartpole']) {
    const env = await createEnv(name, { seed: 0 });
    const act = env.spec.actionSpace.kind === 'discrete' ? () => 0 : () => new Float32Array([0.1]);
    env.reset({ seed: 0 });
    const n = opts.quick ? 2000 : 50000;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const r = env.step(act() as any);
      if (r.terminated || r.truncated) env.reset();
    }
    const sps = n / ((performance.now() - t0) / 1000);
    figures.push({ scene: name, envStepsPerSec: sps });
    env.close();
  }
  // Every core: the same 8 envs stepped in worker threads.
  const load = os.loadavg();
  const par = await asyncVectorRows('uav-small', opts.quick ? 40 : 400);
  figures.push({ suite: 'async-vector-env', cores: par.cores, loadAverage: load, rows: par.rows });
  console.log(table(rows));
  for (const f of figures.filter((f) => !('rapierStepsPerSec' in f) && 'envStepsPerSec' in f)) console.log(`${f.scene}: ${(f.envStepsPerSec as number).toFixed(0)} env steps/s`);
  console.log(`\nuav-small, 8 envs, ${par.cores} cores, load ${load[0].toFixed(1)}:`);
  console.log(table(par.rows.map((r) => ({ vectorEnv: r.vectorEnv, workers: r.workers ? `${r.workers}${r.allCores ? ' (all cores)' : ''}` : '–', envStepsPerSec: r.envStepsPerSec, speedupOverSync: r.speedup }))));
  const file = writeBenchResult(opts.outDir, 'env', figures);
  console.log(`wrote ${file}`);
  return figures;
}
