import { describe, expect, it } from 'vitest';
import { createEnv } from './registry.js';

/**
 * The TaskModel's safety contract (sim/task.ts), for every task kind: parseSetpoint takes what
 * toSetpoint and holdSetpoint give and refuses anything else; fence, position and reach are
 * defined (or explicitly absent) so hardware/safety.ts never needs a field name.
 */
const SCENES = ['uav-small', 'nav-waypoint', 'manip-clutter', 'cartpole', 'pendulum'];

describe.each(SCENES)('%s: the safety contract', (scene) => {
  it('parseSetpoint accepts the task\'s own setpoints and refuses strings, NaN, unknown, missing and prototype fields', async () => {
    const env = await createEnv(scene, { seed: 0 });
    const m = env.model;
    try {
      const { obs } = env.reset({ seed: 0 });
      const action = m.actionSpace.kind === 'box' ? new Float32Array(m.actionSpace.size).fill(0.5) : 1;
      const sp = m.toSetpoint(action) as Record<string, unknown>;
      expect(m.parseSetpoint(sp)).toEqual(sp);
      expect(m.parseSetpoint(m.holdSetpoint(env.state))).toEqual(m.holdSetpoint(env.state));
      const num = Object.keys(sp).find((k) => typeof sp[k] === 'number')!;
      const bad = [
        { ...sp, [num]: String(sp[num]) },
        { ...sp, [num]: NaN },
        { ...sp, [num]: Infinity },
        { ...sp, extra: 1 },
        Object.fromEntries(Object.entries(sp).filter(([k]) => k !== num)),
        { ...sp, constructor: 0 },
        JSON.parse(`{${Object.entries(sp).map(([k, v]) => `"${k}":${JSON.stringify(v)}`).join(',')},"__proto__":{"${num}":1}}`),
        Object.assign(Object.create({ [num]: 1 }), Object.fromEntries(Object.entries(sp).filter(([k]) => k !== num))),
        null,
        [1, 2, 3],
      ];
      for (const b of bad) expect(() => m.parseSetpoint(b), JSON.stringify(b)).toThrow(/setpoint/);
      expect(obs.length).toBe(m.observationSpace.size);
    } finally {
      env.close();
    }
  });

  it('has a fence, or says why not; position and reach are finite', async () => {
    const env = await createEnv(scene, { seed: 0 });
    const m = env.model;
    try {
      env.reset({ seed: 0 });
      if (m.fence.kind === 'none') {
        expect(m.fence.reason.length).toBeGreaterThan(10);
        expect(m.position(env.state)).toBeNull();
        return;
      }
      for (let i = 0; i < 3; i++) expect(m.fence.max[i]).toBeGreaterThan(m.fence.min[i]);
      const p = m.position(env.state);
      if (p) for (const v of p) expect(Number.isFinite(v)).toBe(true);
      const action = m.actionSpace.kind === 'box' ? new Float32Array(m.actionSpace.size).fill(1) : 1;
      const pts = m.reach(env.state, m.toSetpoint(action), 1);
      expect(pts.length).toBeGreaterThan(0);
      for (const q of pts) for (const v of q) expect(Number.isFinite(v)).toBe(true);
    } finally {
      env.close();
    }
  });
});
