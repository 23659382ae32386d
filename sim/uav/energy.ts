import type { EnergyModel } from './scene.js';

export const GRAVITY = 9.81;

/**
 * Propulsion power of a rotary-wing UAV at horizontal speed V (m/s), in watts.
 * Zeng, Xu & Zhang 2019, "Energy Minimization for Wireless Communication with Rotary-Wing UAV", eq. (12):
 *   P(V) = P0(1 + 3V²/U_tip²) + Pi(√(1 + V⁴/(4v0⁴)) − V²/(2v0²))^½ + ½ d0 ρ s A V³
 */
export function propulsionPower(V: number, m: EnergyModel): number {
  const V2 = V * V;
  const v02 = m.v0 * m.v0;
  const blade = m.P0 * (1 + (3 * V2) / (m.Utip * m.Utip));
  const induced = m.Pi * Math.sqrt(Math.sqrt(1 + (V2 * V2) / (4 * v02 * v02)) - V2 / (2 * v02));
  const parasite = 0.5 * m.d0 * m.rho * m.s * m.A * V2 * V;
  return blade + induced + parasite;
}

/** Power with climb: climbing at vz > 0 adds m·g·vz (our choice: descent recovers nothing). */
export function flightPower(vx: number, vy: number, vz: number, massKg: number, m: EnergyModel): number {
  return propulsionPower(Math.hypot(vx, vy), m) + (vz > 0 ? massKg * GRAVITY * vz : 0);
}
