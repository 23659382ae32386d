import { describe, expect, it } from 'vitest';
import { loadRapier, useRapierBuild } from './rapier.js';

describe('sim/rapier.ts: one Rapier build per process', () => {
  it('refuses something that is not a Rapier module', () => {
    expect(() => useRapierBuild({})).toThrow(/not a Rapier module/);
    expect(() => useRapierBuild(null)).toThrow(/not a Rapier module/);
  });

  it('loads the build once, then refuses to switch', async () => {
    const a = await loadRapier();
    const b = await loadRapier();
    expect(a).toBe(b);
    expect(a.version()).toMatch(/^\d+\.\d+\.\d+/);
    const world = new a.World({ x: 0, y: 0, z: -9.81 });
    world.step();
    world.free();
    expect(() => useRapierBuild(a)).toThrow(/already loaded/);
  });

  it('a reused raw vector through rbResetForces + rbAddForce (the UAV step) moves a body exactly as resetForces + addForce', async () => {
    const R = await loadRapier();
    const fly = (raw: boolean) => {
      const world = new R.World({ x: 0, y: 0, z: -9.81 });
      world.timestep = 1 / 100;
      const body = world.createRigidBody(R.RigidBodyDesc.dynamic().setTranslation(0, 0, 10).lockRotations().setLinearDamping(0.3).setCanSleep(false));
      world.createCollider(R.ColliderDesc.ball(0.5).setMass(1.5), body);
      const v = R.VectorOps.intoRaw({ x: 0, y: 0, z: 0 });
      const out: number[] = [];
      for (let i = 0; i < 200; i++) {
        const f = { x: Math.sin(i * 0.1) * 3.3, y: Math.cos(i * 0.07) * 1.7, z: 1.5 * 9.81 + Math.sin(i) };
        if (raw) {
          v.x = f.x;
          v.y = f.y;
          v.z = f.z;
          world.bodies.raw.rbResetForces(body.handle, false);
          world.bodies.raw.rbAddForce(body.handle, v, true);
        } else {
          body.resetForces(false);
          body.addForce(f, true);
        }
        world.step();
        const p = body.translation();
        const l = body.linvel();
        out.push(p.x, p.y, p.z, l.x, l.y, l.z);
      }
      v.free();
      world.free();
      return out;
    };
    const viaRaw = fly(true);
    expect(viaRaw).toEqual(fly(false));
    expect(viaRaw[viaRaw.length - 6]).not.toBe(0); // it did fly
  });
});
