import { localMax, maxHeight } from '../sensors/heightmap.js';
import type { ManipGeometry } from './model.js';
import type { SimObject, Tabletop } from './tabletop.js';

/**
 * The two motion primitives of the task (after Yang et al.), each run to completion at the
 * physics rate, and the gripper motions they are made of. Between primitives the gripper is
 * parked above the workspace and teleported, through free air, to the approach height above the
 * chosen point: the paper's arm moves the same way, and only the descent, the primitive and the
 * lift touch anything. The fingers push, squeeze and lift objects only through contacts.
 */

/** What a primitive reads of the last observation: the heightmap and its pixel grid. */
export interface HeightmapView {
  heightmap: Float32Array;
  grid: ManipGeometry;
}

/**
 * push(x, y, θ) (Yang et al.; as in VPG): closed fingers descend beside the point until the
 * tool centre is at the local max height (±1 cm) + 1.5 cm (tips `pushTipOffset` below it),
 * move `pushLength` along θ, and rise.
 */
export function push(t: Tabletop, view: HeightmapView, x: number, y: number, theta: number): void {
  const g = t.gripper.spec;
  const top = approach(t, view, x, y, theta, 0);
  const tcp = localMax(view.grid, view.heightmap, x, y, g.pushWindow) + g.pushClearance;
  const tip = Math.max(0.004, tcp - g.pushTipOffset);
  moveTo(t, [x, y, tip], g.speed);
  const ex = x + g.pushLength * Math.cos(theta);
  const ey = y + g.pushLength * Math.sin(theta);
  moveTo(t, [ex, ey, tip], g.pushSpeed);
  moveTo(t, [ex, ey, Math.max(top, tip + 0.05)], g.speed);
  park(t);
  t.settle(0.25);
}

/**
 * grasp(x, y, θ) (Yang et al.): open fingers descend until the pad centre is at the local
 * height − 4 cm, never below table + 2 cm; the fingers close until each touches an object,
 * press `squeeze` further, and the hand lifts. Returns the objects still held after the lift,
 * which are then taken out of the world (placed in the bin, as the paper's robot does).
 */
export function grasp(t: Tabletop, view: HeightmapView, x: number, y: number, theta: number): SimObject[] {
  const gripper = t.gripper;
  const g = gripper.spec;
  const gm = view.grid;
  const [row, col] = gm.worldToPixel(x, y);
  const local = view.heightmap[row * gm.P + col];
  const padCentre = Math.max(local - g.graspDepth, g.graspFloor);
  const tip = Math.max(0.003, padCentre - 0.015);
  approach(t, view, x, y, theta, g.openWidth);
  // With `descentStops`, the descent ends where a finger tip lands on an object, as a real arm's
  // collision stop does: a target wedged between neighbours then leaves the fingers no room.
  moveTo(t, [x, y, tip], g.speed, 3, g.descentStops ? () => gripper.landed() : undefined);
  const zBefore = new Map<number, number>();
  for (const o of t.objects) if (o.body) zBefore.set(o.collider!.handle, o.body.translation().z);

  // Close symmetrically, as a parallel-jaw gripper's linkage does: an object touched by one
  // finger slides toward the centre until the fingers meet resistance, i.e. both touch one
  // object, or two objects that press on each other.
  const halfStep = g.closeSpeed * t.h;
  let half = g.openWidth / 2;
  const maxSteps = Math.ceil(g.openWidth / 2 / halfStep) + 10;
  for (let i = 0; i < maxSteps; i++) {
    if (gripper.resists(gripper.touching(0), gripper.touching(1))) break;
    half = Math.max(0, half - halfStep);
    gripper.setFingerFaces(half, half);
    t.step();
    if (half <= 0) break;
  }
  // Grip: keep closing slowly until the object presses `squeeze` m into both finger pads (the
  // stand-in for a force threshold). Meanwhile a box touched corner-first turns square to the
  // pads, as it does in a real parallel gripper; a stall ends after 1.5 cm more.
  if (half > 0) {
    const slow = 0.25 * g.closeSpeed * t.h;
    const maxTravel = Math.ceil(0.015 / slow);
    for (let i = 0; i < maxTravel && half > 0; i++) {
      if (gripper.pressing(0, g.squeeze) && gripper.pressing(1, g.squeeze)) break;
      half = Math.max(0, half - slow);
      gripper.setFingerFaces(half, half);
      t.step();
    }
    t.settle(0.05);
  }
  moveTo(t, [gripper.tip[0], gripper.tip[1], g.liftHeight], g.speed);
  t.settle(0.2);

  // Held: touches both fingers and rose with the hand. No attachment was ever made.
  const both = gripper.touching(0, 0.002);
  const other = gripper.touching(1, 0.002);
  const held: SimObject[] = [];
  for (const o of t.objects) {
    if (!o.body) continue;
    const h = o.collider!.handle;
    const z = o.body.translation().z;
    if (both.has(h) && other.has(h) && z - (zBefore.get(h) ?? z) > 0.03 && z > g.heldHeight) held.push(o);
  }
  for (const o of held) t.removeObject(o);
  gripper.gap = g.openWidth;
  gripper.faceOffset = 0;
  gripper.place(false);
  t.step();
  park(t);
  t.settle(0.3);
  return held;
}

/** Move the gripper tip to `to` at `speed` m/s, physically (kinematic targets each step). */
function moveTo(t: Tabletop, to: [number, number, number], speed: number, maxSeconds = 3, stop?: () => boolean): void {
  const gripper = t.gripper;
  const d = speed * t.h;
  const maxSteps = Math.ceil(maxSeconds / t.h);
  for (let i = 0; i < maxSteps; i++) {
    if (stop?.()) break;
    const dx = to[0] - gripper.tip[0];
    const dy = to[1] - gripper.tip[1];
    const dz = to[2] - gripper.tip[2];
    const dist = Math.hypot(dx, dy, dz);
    if (dist < 1e-6) break;
    const f = Math.min(1, d / dist);
    gripper.tip = [gripper.tip[0] + f * dx, gripper.tip[1] + f * dy, gripper.tip[2] + f * dz];
    gripper.place(false);
    t.step();
  }
}

/** Teleport through free air above everything to (x, y), at the approach height, which it returns. */
function approach(t: Tabletop, view: HeightmapView, x: number, y: number, yaw: number, gap: number): number {
  const gripper = t.gripper;
  const above = maxHeight(view.heightmap) + 0.03;
  gripper.tip = [x, y, above];
  gripper.yaw = yaw;
  gripper.gap = gap;
  gripper.faceOffset = 0;
  gripper.place(true);
  t.step();
  return above;
}

/** Teleport to the park pose, open, above the middle of the workspace. */
function park(t: Tabletop): void {
  t.gripper.park();
  t.step();
}
