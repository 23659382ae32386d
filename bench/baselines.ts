import { createController } from '../controllers/load.js';
import { runEpisodes, summarise } from '../src/experiment/rollout.js';
import { createEnv, loadScene } from '../sim/registry.js';
import { table, writeBenchResult } from './results-io.js';

/**
 * `embody bench baselines`: the scripted UAV baselines on every UAV scene, as `embody run
 * <scene> -c <controller> -n 5 -s 0` runs them (episode i uses seed i), plus the held-out
 * evaluation seeds 1000–1009 that learned policies are compared on. The README's baseline
 * tables come from this file.
 */
const SCENES = ['uav-small', 'uav-city', 'uav-sparse'];
const CONTROLLERS = ['hover', 'greedy', 'tour'];
const PROTOCOLS = [
  { name: 'run', seed: 0, episodes: 5 },
  { name: 'eval', seed: 1000, episodes: 10 },
];

export async function runBench(opts: { quick: boolean; outDir: string }) {
  const rows: Record<string, string | number>[] = [];
  const figures: unknown[] = [];
  for (const protocol of opts.quick ? PROTOCOLS.slice(0, 1) : PROTOCOLS) {
    for (const sceneName of opts.quick ? SCENES.slice(0, 1) : SCENES) {
      for (const name of CONTROLLERS) {
        const { scene } = loadScene(sceneName);
        const env = await createEnv(scene, { seed: protocol.seed });
        const controller = await createController(name, env.spec, { seed: protocol.seed, model: env.model });
        const results = await runEpisodes({ env, controller, episodes: protocol.episodes, seed: protocol.seed });
        env.close();
        const summary = summarise(results);
        figures.push({ protocol: protocol.name, scene: sceneName, controller: name, seed: protocol.seed, episodes: protocol.episodes, summary });
        const s = (k: string) => summary[k] ?? { mean: NaN, std: NaN };
        rows.push({
          protocol: `${protocol.name} (seeds ${protocol.seed}–${protocol.seed + protocol.episodes - 1})`,
          scene: sceneName,
          controller: name,
          'efficiency (bit/J)': `${s('efficiencyBitPerJ').mean.toFixed(0)} ± ${s('efficiencyBitPerJ').std.toFixed(0)}`,
          collected: `${s('fractionCollected').mean.toFixed(3)} ± ${s('fractionCollected').std.toFixed(3)}`,
          'energy (kJ)': s('energyKJ').mean.toFixed(2),
          'flight (s)': s('flightTimeS').mean.toFixed(1),
          crashes: s('crashes').mean,
        });
      }
    }
  }
  console.log(table(rows));
  const file = writeBenchResult(opts.outDir, opts.quick ? 'baselines-quick' : 'baselines', figures);
  console.log(`wrote ${file}`);
  return figures;
}
