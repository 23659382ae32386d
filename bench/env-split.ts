import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { TaskEnv } from '../sim/task-env.js';
import type { UavBackend } from '../sim/uav/backend.js';
import { table, writeBenchResult } from './results-io.js';

/**
 * Where a UAV env step's time goes beyond its World.step calls, as fractions of that physics
 * time, on `embody bench env`'s own flight (same actions, same seed, each control step at its
 * fastest of 5 replays, the backend's profiler on, as for envOverRapier there):
 * - wrapper: TaskEnv.step around the backend (snapshot, toSetpoint, reward, done, observation);
 * - reset: the episode resets (a fresh world per episode);
 * - allocation: the per-slot allocation (fading draws, the assignment);
 * - perPhysicsStep: the backend's JS around each World.step (velocity loop, gusts, energy,
 *   data, the Rapier calls for force, translation, velocity and events, the profiler's clock).
 * They add up to about ratio − 1 (each part is a sum of per-step minima).
 *
 *   npx tsx bench/env-split.ts [--before <checkout>] [--reps 2]
 *
 * With --before, the same is measured on another checkout of this repository (for instance
 * `git worktree add /tmp/base <commit> && ln -s $PWD/node_modules /tmp/base/`), in child
 * processes that alternate with this checkout's, so that both see the same load.
 * Writes bench/results/<date>-env-split.json.
 */
const SCENES = ['uav-small', 'uav-city', 'uav-sparse'];
const HERE = fileURLToPath(import.meta.url);
const ROOT = path.resolve(path.dirname(HERE), '..');

function policyAction(i: number) {
  // The flight of bench/env.ts.
  return new Float32Array([Math.sin(i * 0.02), Math.cos(i * 0.013), 0.1 * Math.sin(i * 0.05)]);
}

function split(env: TaskEnv, backend: UavBackend, steps: number, passes: number) {
  const parts = 5; // env, advance, allocation, physics, reset
  const best = new Float64Array(steps * parts).fill(Infinity);
  for (let pass = 0; pass < passes; pass++) {
    const prof = { physicsMs: 0, allocationMs: 0, totalMs: 0 };
    backend.profile = prof;
    env.reset({ seed: 0 });
    for (let i = 0; i < steps; i++) {
      const [p0, a0, t0a] = [prof.physicsMs, prof.allocationMs, prof.totalMs];
      const t0 = performance.now();
      const r = env.step(policyAction(i));
      let resetMs = 0;
      if (r.terminated || r.truncated) {
        const t1 = performance.now();
        env.reset();
        resetMs = performance.now() - t1;
      }
      const v = [performance.now() - t0, prof.totalMs - t0a, prof.allocationMs - a0, prof.physicsMs - p0, resetMs];
      for (let j = 0; j < parts; j++) best[i * parts + j] = Math.min(best[i * parts + j], v[j]);
    }
  }
  backend.profile = null;
  const sums = [0, 0, 0, 0, 0];
  for (let i = 0; i < steps; i++) for (let j = 0; j < parts; j++) sums[j] += best[i * parts + j];
  const [envMs, advanceMs, allocationMs, physicsMs, resetMs] = sums;
  return {
    ratio: envMs / physicsMs,
    wrapper: (envMs - advanceMs - resetMs) / physicsMs,
    reset: resetMs / physicsMs,
    allocation: allocationMs / physicsMs,
    perPhysicsStep: (advanceMs - allocationMs - physicsMs) / physicsMs,
  };
}

/** One checkout's figures, in this process: its own sim/registry.ts builds the envs. */
async function measure(checkout: string) {
  const { createEnv } = (await import(pathToFileURL(path.join(checkout, 'sim', 'registry.ts')).href)) as typeof import('../sim/registry.js');
  const rows = [];
  for (const scene of SCENES) {
    const env = await createEnv(scene, { seed: 0 });
    const backend = env.bundle.backend as UavBackend;
    env.reset({ seed: 0 });
    for (let i = 0; i < 300; i++) {
      const r = env.step(policyAction(i)); // warm-up (JIT, wasm)
      if (r.terminated || r.truncated) env.reset();
    }
    rows.push({ scene, ...split(env, backend, 3000, 5) });
    env.close();
  }
  return rows;
}

async function main() {
  const argv = process.argv.slice(2);
  const arg = (name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
  const child = arg('--child');
  if (child) {
    process.stdout.write(JSON.stringify(await measure(child)));
    return;
  }
  const before = arg('--before');
  const reps = Number(arg('--reps') ?? 2);
  const checkouts = [...(before ? [{ label: 'before', dir: path.resolve(before) }] : []), { label: 'this', dir: ROOT }];
  const runs: { checkout: string; dir: string; rep: number; loadAverage: number[]; rows: Awaited<ReturnType<typeof measure>> }[] = [];
  for (let rep = 0; rep < reps; rep++) {
    for (const c of checkouts) {
      const loadAverage = os.loadavg();
      const out = execFileSync(process.execPath, ['--import', 'tsx', HERE, '--child', c.dir], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
      const rows = JSON.parse(out);
      runs.push({ checkout: c.label, dir: c.dir, rep, loadAverage, rows });
      console.log(`${c.label}, rep ${rep + 1}, load ${loadAverage[0].toFixed(1)}`);
      console.log(table(rows));
    }
  }
  const file = writeBenchResult(path.join(ROOT, 'bench', 'results'), 'env-split', runs);
  console.log(`wrote ${file}`);
}

await main();
