import { planPath, polylineLength, type OccupancyGrid } from '../../sim/navigation/grid.js';
import type { NavModel } from '../../sim/navigation/model.js';
import type { Vec2 } from './geometry.js';

/**
 * The scene navigator (FantasyHSI): perceives the environment and plans the high-level path.
 * Its map is the scene's occupancy grid inflated by the robot radius; on a replan it first
 * adds what the lidar sees (a pushed chair, a moved table) to the map. Paths are A* on the
 * grid, shortened by string pulling, as polylines.
 */
export class Navigator {
  grid: OccupancyGrid;
  /** Cells the lidar added to the map since reset. */
  perceived = 0;

  constructor(readonly model: NavModel) {
    this.grid = model.grid.clone();
  }

  reset(): void {
    this.grid = this.model.grid.clone();
    this.perceived = 0;
  }

  /** A smoothed path, or a NoPathError naming the goal (the search is bounded: it never hangs). */
  plan(from: Vec2, to: Vec2, label?: string): Vec2[] {
    return planPath(this.grid, from, to, { label, snap: 0.6 });
  }

  /**
   * Add lidar returns to the map: each hit becomes a disc of the robot's radius. Hits within
   * `keepClear` of the robot are skipped, so the robot never walls itself in.
   */
  perceive(pose: [number, number, number], ranges: ArrayLike<number>, keepClear = 0.45): void {
    const { scene } = this.model;
    const R = scene.lidar.maxRange;
    const r = scene.robot.radius + 0.05;
    for (let k = 0; k < ranges.length; k++) {
      const d = ranges[k];
      if (d >= R * 0.98 || d < keepClear) continue;
      const a = pose[2] + this.model.rayAngle(k);
      const x = pose[0] + d * Math.cos(a);
      const y = pose[1] + d * Math.sin(a);
      if (this.grid.occupiedAt(x, y)) continue;
      this.grid.markDisc(x, y, r);
      this.perceived++;
    }
    // Keep the robot's own cell region free, so a plan can start where it stands.
  }

  static pathLength(path: Vec2[]): number {
    return polylineLength(path);
  }
}
