import { describe, expect, it } from 'vitest';
import { createEnv } from '../../sim/registry.js';
import { ManipulationModel, manipulationSceneSchema } from '../../sim/manipulation/index.js';
import { createHeuristic, motionToAction } from './manipulation.js';

describe('manipulation scripted controllers', () => {
  it('motions encode to actions the task decodes back, discrete and continuous', () => {
    for (const action of ['discrete', 'continuous'] as const) {
      const model = new ManipulationModel(manipulationSceneSchema.parse({ task: 'manipulation', name: 't', description: 'd', action }));
      const m = { primitive: 'grasp' as const, x: 0.05, y: -0.1, theta: Math.PI / 4 };
      const sp = model.toSetpoint(motionToAction(model, m));
      expect(sp.primitive).toBe('grasp');
      expect(Math.abs(sp.x - m.x)).toBeLessThanOrEqual(model.geometry.res);
      expect(Math.abs(sp.y - m.y)).toBeLessThanOrEqual(model.geometry.res);
      expect(Math.cos(sp.theta - m.theta)).toBeGreaterThan(0.999);
    }
  });

  // manip-dense: dense clutter without the wedge walls of manip-clutter, where the heuristic is
  // meant to fail about a quarter of the time (check:manipulation measures that, not this test).
  it('the heuristic grasps a visible target in dense clutter within 20 motions', async () => {
    const env = await createEnv('manip-dense', { seed: 0 });
    const ctl = createHeuristic(env.spec, { seed: 0, model: env.model });
    let successes = 0;
    for (const seed of [11, 12]) {
      let { obs } = env.reset({ seed });
      ctl.reset();
      for (;;) {
        const r = env.step(ctl.act(obs));
        obs = r.obs;
        if (r.terminated || r.truncated) {
          successes += (r.info.episode as { metrics: Record<string, number> }).metrics.success;
          break;
        }
      }
    }
    expect(successes).toBe(2);
    env.close();
  });
});
