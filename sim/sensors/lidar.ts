import type { Rng } from '../../src/core/rng.js';
import type { Rapier, Ray, RigidBody, World } from '../rapier.js';

/**
 * A 2-D lidar ring: one horizontal ray cast per beam in a scan plane at a fixed height, range
 * capped at `maxRange`, with optional Gaussian range noise (clamped to [0, maxRange]).
 */
export interface LidarSpec {
  rays: number;
  maxRange: number;
  /** Height of the scan plane, m. */
  height: number;
  /** Std of the range noise, m; 0 for exact ranges (and no draws from the noise Rng). */
  noiseStd: number;
}

export class LidarRing {
  private readonly ray: Ray;

  /** `beamAngle(k)`: beam k's angle from the sensor's heading, rad. */
  constructor(
    R: Rapier,
    readonly spec: LidarSpec,
    private readonly beamAngle: (k: number) => number,
  ) {
    this.ray = new R.Ray({ x: 0, y: 0, z: 0 }, { x: 1, y: 0, z: 0 });
  }

  /** Scan from `pose` = [x, y, heading] into `out` (one range per beam); `self` (the robot) is not seen. */
  scan(world: World, pose: readonly number[], out: Float32Array, noise: Rng, self: RigidBody): void {
    const { spec, ray } = this;
    const n = spec.rays;
    const R = spec.maxRange;
    const std = spec.noiseStd;
    ray.origin = { x: pose[0], y: pose[1], z: spec.height };
    for (let k = 0; k < n; k++) {
      const a = pose[2] + this.beamAngle(k);
      ray.dir = { x: Math.cos(a), y: Math.sin(a), z: 0 };
      const hit = world.castRay(ray, R, true, undefined, undefined, undefined, self);
      let d = hit ? hit.timeOfImpact : R;
      if (std > 0) d = Math.max(0, Math.min(R, d + noise.normal(0, std)));
      out[k] = d;
    }
  }

  /** World x, y of the beam endpoints that hit something (for the viewer). */
  hits(pose: readonly number[], ranges: Float32Array): number[][] {
    const R = this.spec.maxRange;
    const out: number[][] = [];
    for (let k = 0; k < ranges.length; k++) {
      if (ranges[k] >= R - 1e-6) continue;
      const a = pose[2] + this.beamAngle(k);
      out.push([pose[0] + ranges[k] * Math.cos(a), pose[1] + ranges[k] * Math.sin(a)]);
    }
    return out;
  }
}
