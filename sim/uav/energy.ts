import { hypot2 } from './hypot.js';
import type { EnergyModel } from './scene.js';

export const GRAVITY = 9.81;

/**
 * Propulsion power of a rotary-wing UAV at horizontal speed V (m/s), in watts.
 * Zeng, Xu & Zhang 2019, "Energy Minimization for Wireless Communication with Rotary-Wing UAV", eq. (12):
 *   P(V) = P0(1 + 3V²/U_tip²) + Pi(√(1 + V⁴/(4v0⁴)) − V²/(2v0²))^½ + ½ d0 ρ s A V³
 * The products of constants are taken once (the backend calls this every physics step); each is the
 * left part of the formula's own product, so the result is the same double as the formula written out.
 */
export class PropulsionPower {
  private readonly P0: number;
  private readonly Pi: number;
  private readonly Utip2: number;
  private readonly fourV04: number;
  private readonly twoV02: number;
  private readonly parasiteCoef: number;
  private readonly climbCoef: number;

  constructor(m: EnergyModel, massKg: number) {
    const v02 = m.v0 * m.v0;
    this.P0 = m.P0;
    this.Pi = m.Pi;
    this.Utip2 = m.Utip * m.Utip;
    this.fourV04 = 4 * v02 * v02;
    this.twoV02 = 2 * v02;
    this.parasiteCoef = 0.5 * m.d0 * m.rho * m.s * m.A;
    this.climbCoef = massKg * GRAVITY;
  }

  /** P(V), W. */
  atSpeed(V: number): number {
    const V2 = V * V;
    const blade = this.P0 * (1 + (3 * V2) / this.Utip2);
    const induced = this.Pi * Math.sqrt(Math.sqrt(1 + (V2 * V2) / this.fourV04) - V2 / this.twoV02);
    const parasite = this.parasiteCoef * V2 * V;
    return blade + induced + parasite;
  }

  /** Power with climb: climbing at vz > 0 adds m·g·vz (our choice: descent recovers nothing). */
  atVelocity(vx: number, vy: number, vz: number): number {
    return this.atSpeed(hypot2(vx, vy)) + (vz > 0 ? this.climbCoef * vz : 0);
  }
}

/** P(V) of eq. (12) above, W. */
export function propulsionPower(V: number, m: EnergyModel): number {
  return new PropulsionPower(m, 0).atSpeed(V);
}

/** Flight power with climb (see PropulsionPower.atVelocity), W. */
export function flightPower(vx: number, vy: number, vz: number, massKg: number, m: EnergyModel): number {
  return new PropulsionPower(m, massKg).atVelocity(vx, vy, vz);
}
