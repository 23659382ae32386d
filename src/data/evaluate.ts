import type { Controller } from '../core/controller.js';
import { stats } from './dataset.js';

/**
 * Evaluate a controller for offline-RL comparisons: episode i uses seed `seed + i`, and a controller
 * with `observeReward` (the decision transformer) hears each reward, so its return-to-go decreases
 * as in Chen et al. 2021.
 */
export interface OfflineEval {
  returns: number[];
  fractionCollected: number[];
  efficiency: number[];
  endReasons: string[];
  summary: { return: number; fractionCollected: number; efficiencyBitPerJ: number };
}

export async function evaluateOffline(scene: string, controller: Controller & { observeReward?: (r: number) => void }, episodes: number, seed: number): Promise<OfflineEval> {
  const { createEnv } = await import('../../sim/registry.js');
  const env = await createEnv(scene, { seed });
  const out: OfflineEval = { returns: [], fractionCollected: [], efficiency: [], endReasons: [], summary: { return: 0, fractionCollected: 0, efficiencyBitPerJ: 0 } };
  try {
    for (let e = 0; e < episodes; e++) {
      let { obs } = env.reset({ seed: seed + e });
      controller.reset();
      for (;;) {
        const r = env.step(controller.act(obs));
        controller.observeReward?.(r.reward);
        obs = r.obs;
        if (r.terminated || r.truncated) {
          const ep = r.info.episode as { return: number; metrics: Record<string, number> };
          out.returns.push(ep.return);
          out.fractionCollected.push(ep.metrics.fractionCollected ?? 0);
          out.efficiency.push(ep.metrics.efficiencyBitPerJ ?? 0);
          out.endReasons.push(String(r.info.endReason ?? ''));
          break;
        }
      }
    }
  } finally {
    env.close();
  }
  out.summary = { return: stats(out.returns).mean, fractionCollected: stats(out.fractionCollected).mean, efficiencyBitPerJ: stats(out.efficiency).mean };
  return out;
}
