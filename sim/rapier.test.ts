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
});
