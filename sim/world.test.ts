import { describe, expect, it } from 'vitest';
import { loadRapier } from './rapier.js';
import { buildStaticWorld } from './world.js';

describe('Rapier world', () => {
  it('free fall matches ½·g·t² within 1%', async () => {
    const R = await loadRapier();
    const { world } = buildStaticWorld(R, { timestep: 0.01, groundSize: [10, 10], boxes: [] });
    const body = world.createRigidBody(R.RigidBodyDesc.dynamic().setTranslation(5, 5, 100));
    world.createCollider(R.ColliderDesc.ball(0.5).setMass(1), body);
    const t = 2;
    const steps = Math.round(t / 0.01); // world.timestep is float32: count steps, do not divide by it
    for (let i = 0; i < steps; i++) world.step();
    const fallen = 100 - body.translation().z;
    const analytic = 0.5 * 9.81 * t * t;
    expect(Math.abs(fallen - analytic) / analytic).toBeLessThan(0.01);
    expect(body.linvel().z).toBeCloseTo(-9.81 * t, 1);
    world.free();
  });

  it('static boxes stop a falling body (ground and obstacles collide)', async () => {
    const R = await loadRapier();
    const { world, bodies } = buildStaticWorld(R, {
      timestep: 0.01,
      groundSize: [10, 10],
      boxes: [{ center: [5, 5, 1], size: [2, 2, 2], color: '#888888' }],
    });
    expect(bodies.map((b) => b.role)).toEqual(['ground', 'building']);
    const body = world.createRigidBody(R.RigidBodyDesc.dynamic().setTranslation(5, 5, 6));
    world.createCollider(R.ColliderDesc.ball(0.5).setMass(1), body);
    for (let i = 0; i < 300; i++) world.step();
    expect(body.translation().z).toBeGreaterThan(2.3); // resting on the box top (z = 2) + radius
    expect(body.translation().z).toBeLessThan(2.7);
    world.free();
  });

  it('a tabletop ground: its edge `groundMargin` past the area, its own thickness and name; past the edge a body falls', async () => {
    const R = await loadRapier();
    const { world, bodies } = buildStaticWorld(R, {
      timestep: 0.01,
      groundSize: [0.4, 0.4],
      groundCenter: [0, 0],
      groundMargin: 0.05,
      groundHalfThickness: 0.025,
      groundName: 'table',
      boxes: [],
    });
    expect(bodies[0]).toMatchObject({ name: 'table', role: 'ground', size: [0.5, 0.5, 0.05], pose: [0, 0, -0.025, 0, 0, 0, 1] });
    const on = world.createRigidBody(R.RigidBodyDesc.dynamic().setTranslation(0.2, 0, 0.1));
    world.createCollider(R.ColliderDesc.ball(0.02), on);
    const off = world.createRigidBody(R.RigidBodyDesc.dynamic().setTranslation(0.3, 0, 0.1));
    world.createCollider(R.ColliderDesc.ball(0.02), off);
    for (let i = 0; i < 100; i++) world.step();
    expect(on.translation().z).toBeCloseTo(0.02, 2);
    expect(off.translation().z).toBeLessThan(-0.5);
    world.free();
  });
});
