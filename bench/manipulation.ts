import { Rng } from '../src/core/rng.js';
import { createEnv } from '../sim/registry.js';
import type { ManipulationBackend } from '../sim/manipulation/backend.js';
import type { ManipulationModel } from '../sim/manipulation/model.js';
import { table, writeBenchResult } from './results-io.js';

/**
 * `embody bench manipulation`: how fast the manipulation world runs.
 * - bare Rapier steps/s of the settled clutter scene (gripper parked);
 * - wall seconds per motion primitive (push, grasp), physics steps per primitive, and the
 *   heightmap ray cast (64 × 64 rays) that follows each one;
 * - whole env steps (motions) per second under random actions.
 */
const SCENES = ['manip-clutter', 'manip-hidden'];

export async function runBench(opts: { quick: boolean; outDir: string }) {
  const physicsSteps = opts.quick ? 600 : 4800;
  const motions = opts.quick ? 8 : 40;
  const rows: Record<string, string | number>[] = [];
  const figures: Record<string, unknown>[] = [];
  for (const name of SCENES) {
    const env = await createEnv(name, { seed: 0 });
    const backend = env.bundle.backend as ManipulationBackend;
    const model = env.model as ManipulationModel;
    const g = model.geometry;
    env.reset({ seed: 0 });
    backend.benchPhysics(120); // warm-up
    const bodies = backend.objectPositions().length;
    const physSec = backend.benchPhysics(physicsSteps);

    // Primitives at random points near the pile, timed one by one.
    const rng = new Rng(1);
    const time = { push: [] as number[], grasp: [] as number[], obs: [] as number[] };
    const steps = { push: [] as number[], grasp: [] as number[] };
    let obsMs = 0;
    for (let i = 0; i < motions; i++) {
      if (i % 4 === 0) env.reset({ seed: 100 + i });
      const s = backend.state();
      const primitive = i % 2 === 0 ? 'push' : 'grasp';
      const [tx, ty] = s.targetPosition;
      const sp = { primitive, x: tx + rng.uniform(-0.05, 0.05), y: ty + rng.uniform(-0.05, 0.05), theta: rng.uniform(0, 2 * Math.PI) } as const;
      const n0 = backend.physicsSteps;
      const t0 = performance.now();
      backend.advance(sp, env.spec.controlPeriod);
      const dt = (performance.now() - t0) / 1000;
      time[primitive].push(dt);
      steps[primitive].push(backend.physicsSteps - n0);
      const t1 = performance.now();
      backend.observeWorld();
      obsMs = (performance.now() - t1) * 1000;
      time.obs.push(obsMs / 1e6);
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

    // Whole env steps under uniformly random actions.
    const envMotions = opts.quick ? 6 : 30;
    env.reset({ seed: 5 });
    const t2 = performance.now();
    for (let i = 0; i < envMotions; i++) {
      const r = env.step(rng.int(g.numActions));
      if (r.terminated || r.truncated) env.reset();
    }
    const envPerSec = envMotions / ((performance.now() - t2) / 1000);
    const row = {
      scene: name,
      bodies: String(bodies),
      'physics steps/s': physicsSteps / physSec,
      's/push': mean(time.push),
      's/grasp': mean(time.grasp),
      'steps/push': mean(steps.push),
      'steps/grasp': mean(steps.grasp),
      'heightmap ms': mean(time.obs) * 1000,
      'env motions/s': envPerSec,
    };
    rows.push(row);
    figures.push({ ...row, bodies, heightmapPixels: g.P, physicsHz: model.scene.physicsHz, physicsSteps, motions });
    env.close();
  }
  console.log(table(rows));
  const file = writeBenchResult(opts.outDir, opts.quick ? 'manipulation-quick' : 'manipulation', figures);
  console.log(`wrote ${file}`);
  return figures;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runBench({ quick: process.argv.includes('--quick'), outDir: 'bench/results' });
}
