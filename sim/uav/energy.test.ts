import { describe, expect, it } from 'vitest';
import { flightPower, propulsionPower } from './energy.js';
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
});
