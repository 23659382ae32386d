import { describe, expect, it } from 'vitest';
import { flightPower, GRAVITY, PropulsionPower, propulsionPower } from './energy.js';
import { Rng } from '../../src/core/rng.js';
import { uavSceneSchema } from './scene.js';

const model = uavSceneSchema.shape.energy.parse(undefined);

describe('rotary-wing propulsion power (Zeng et al. 2019)', () => {
  it('hover power is P0 + Pi = 168.49 W', () => {
    expect(propulsionPower(0, model)).toBeCloseTo(79.86 + 88.63, 10);
  });

  it('P(10 m/s) matches a hand computation', () => {
    // blade   79.86·(1 + 3·100/120²)                                   = 81.52375
    // induced 88.63·(√(1 + 10⁴/(4·4.03⁴)) − 100/(2·4.03²))^½          = 35.26731
    // parasite ½·0.6·1.225·0.05·0.503·10³                              =  9.242625
    expect(propulsionPower(10, model)).toBeCloseTo(81.52375 + 35.26731 + 9.242625, 3);
  });

  it('is lowest between hover and max speed (the endurance speed is not zero)', () => {
    expect(propulsionPower(10, model)).toBeLessThan(propulsionPower(0, model));
    expect(propulsionPower(30, model)).toBeGreaterThan(propulsionPower(0, model));
  });

  it('climbing adds m·g·vz and descending adds nothing', () => {
    expect(flightPower(0, 0, 2, 2, model) - propulsionPower(0, model)).toBeCloseTo(2 * 9.81 * 2, 9);
    expect(flightPower(0, 0, -2, 2, model)).toBeCloseTo(propulsionPower(0, model), 9);
  });

  it('the folded constants give the same double as eq. (12) written out, at any velocity', () => {
    const m = model;
    // The formula as it stood before its constants were folded (the episodes' energy must not move by one bit).
    const written = (vx: number, vy: number, vz: number, mass: number) => {
      const V = Math.hypot(vx, vy);
      const V2 = V * V;
      const v02 = m.v0 * m.v0;
      const blade = m.P0 * (1 + (3 * V2) / (m.Utip * m.Utip));
      const induced = m.Pi * Math.sqrt(Math.sqrt(1 + (V2 * V2) / (4 * v02 * v02)) - V2 / (2 * v02));
      const parasite = 0.5 * m.d0 * m.rho * m.s * m.A * V2 * V;
      return blade + induced + parasite + (vz > 0 ? mass * GRAVITY * vz : 0);
    };
    const power = new PropulsionPower(m, 2.5);
    const rng = new Rng(3);
    for (let i = 0; i < 20000; i++) {
      const [vx, vy, vz] = [rng.normal(0, 10), rng.normal(0, 10), rng.normal(0, 3)].map(Math.fround);
      expect(power.atVelocity(vx, vy, vz)).toBe(written(vx, vy, vz, 2.5));
    }
  });
});
