import os from 'node:os';
import { Rng } from '../src/core/rng.js';
import { dtConfig } from '../controllers/dt/config.js';
import { DtController } from '../controllers/dt/infer.js';
import { dtParamSpecs, initDtWeights } from '../controllers/dt/weights.js';
import { percentile, table, writeBenchResult } from './results-io.js';

/**
 * Decision-transformer inference latency per action at K = 20 (reference size: embed 128, 3 layers,
 * 1 head), pure JS. Both modes are the trained model on the last K steps. `cached` steps the
 * key/value cache while the episode fits in K (three token steps per action: a_{t−1}, R̂_t, s_t)
 * and recomputes the window past K; `uncached` recomputes it every action. Figures are split
 * into the first K steps of an episode and the steps past K. Real-time control at 20 Hz needs
 * well under 50 ms. Run: `npx tsx bench/dt.ts [--quick]`.
 */
export async function runBench(opts: { quick?: boolean; outDir?: string } = {}): Promise<Record<string, unknown>> {
  const quick = opts.quick ?? false;
  const obsDim = 32; // uav-small
  const actDim = 3;
  const rows: Record<string, string | number>[] = [];
  const figures: Record<string, unknown> = {};
  figures.loadAverage = os.loadavg();
  for (const size of quick ? [{ embed: 128, layers: 3 }] : [{ embed: 128, layers: 3 }, { embed: 64, layers: 2 }]) {
    const c = dtConfig({ K: 20, ...size });
    const weights = initDtWeights(dtParamSpecs(c, obsDim, actDim), new Rng(0));
    const model = { config: c, obsDim, actDim, weights, obsMean: new Float32Array(obsDim), obsStd: new Float32Array(obsDim).fill(1), rtgScale: 100 };
    for (const mode of ['cached', 'uncached'] as const) {
      const ctrl = new DtController(model, 60, mode);
      const rng = new Rng(1);
      const obs = new Float32Array(obsDim);
      const episodes = quick ? 2 : 4;
      const steps = quick ? 60 : 120;
      const times: number[] = [];
      const withinK: number[] = [];
      const pastK: number[] = [];
      for (let e = 0; e < episodes; e++) {
        ctrl.reset();
        for (let t = 0; t < steps; t++) {
          for (let i = 0; i < obsDim; i++) obs[i] = rng.normal();
          const t0 = performance.now();
          ctrl.act(obs);
          const dt = performance.now() - t0;
          ctrl.observeReward(0.1);
          // The first episode warms the JIT up.
          if (e > 0) {
            times.push(dt);
            (t < c.K ? withinK : pastK).push(dt);
          }
        }
      }
      const p50 = percentile(times, 50);
      const p99 = percentile(times, 99);
      const key = `K20-e${c.embed}-l${c.layers}-${mode}`;
      const split = { withinK: { p50Ms: percentile(withinK, 50), p99Ms: percentile(withinK, 99), samples: withinK.length }, pastK: { p50Ms: percentile(pastK, 50), p99Ms: percentile(pastK, 99), samples: pastK.length } };
      figures[key] = { p50Ms: p50, p99Ms: p99, samples: times.length, ...split };
      rows.push({
        model: `K=20 embed ${c.embed} ${c.layers} layers`,
        mode,
        'p50 ms': Number(p50.toFixed(3)),
        'p99 ms': Number(p99.toFixed(3)),
        't < K p50 ms': Number(split.withinK.p50Ms.toFixed(3)),
        't ≥ K p50 ms': Number(split.pastK.p50Ms.toFixed(3)),
        samples: times.length,
      });
    }
  }
  console.log('decision transformer inference latency per action (pure JS)');
  console.log(table(rows));
  const file = writeBenchResult(opts.outDir ?? 'bench/results', `dt${quick ? '-quick' : ''}`, figures);
  console.log(`→ ${file}`);
  return figures;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runBench({ quick: process.argv.includes('--quick') });
}
