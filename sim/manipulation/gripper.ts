import type { Cuboid, Rapier, RigidBody, World } from '../rapier.js';
import type { ManipulationScene } from './scene.js';

/**
 * The parallel-jaw gripper: a palm box (the hand) and two finger boxes, all kinematic
 * (position-driven) bodies with real colliders, and what the fingers feel. Nothing is welded or
 * attached: a grasp holds an object only through contact and friction.
 *
 * The pose is the finger-tip centre, the yaw of the closing axis and the inner gap between the
 * fingers; finger 0 sits on the +closing axis. `place` puts the bodies at the pose, either as a
 * teleport or as the kinematic targets of the next physics step.
 */

/** Height of the parked finger tips, m: above any pile. */
export const PARK_HEIGHT = 0.45;
/** Thickness of the palm, m. */
export const PALM_HEIGHT = 0.02;

export type GripperSpec = ManipulationScene['gripper'];

export class Gripper {
  readonly hand: RigidBody;
  readonly fingers: RigidBody[] = [];
  /** Finger-tip centre. */
  tip: [number, number, number];
  yaw = 0;
  /** Inner gap between the fingers. */
  gap: number;
  /** Offset of the gap's centre from the hand axis along the closing axis (after an off-centre close). */
  faceOffset = 0;
  /** The thin box `touching` and `pressing` test against the objects (made on first use). */
  private probe: Cuboid | null = null;

  /** Build the bodies in `world` and teleport them to the park pose above `home` (x, y). */
  constructor(
    private readonly R: Rapier,
    private readonly world: World,
    readonly spec: GripperSpec,
    private readonly home: [number, number],
  ) {
    const g = spec;
    this.hand = world.createRigidBody(R.RigidBodyDesc.kinematicPositionBased().setTranslation(0, 0, PARK_HEIGHT + g.fingerLength));
    world.createCollider(R.ColliderDesc.cuboid(g.openWidth / 2 + g.fingerThickness, g.fingerWidth / 2, PALM_HEIGHT / 2).setFriction(g.friction), this.hand);
    for (let i = 0; i < 2; i++) {
      const f = world.createRigidBody(R.RigidBodyDesc.kinematicPositionBased().setTranslation(0, 0, PARK_HEIGHT));
      world.createCollider(
        R.ColliderDesc.cuboid(g.fingerThickness / 2, g.fingerWidth / 2, g.fingerLength / 2)
          .setFriction(g.friction)
          .setFrictionCombineRule(R.CoefficientCombineRule.Max),
        f,
      );
      this.fingers.push(f);
    }
    this.tip = [home[0], home[1], PARK_HEIGHT];
    this.yaw = 0;
    this.gap = g.openWidth;
    this.place(true);
  }

  /** Open, centred, above `home`: the pose between primitives. The caller steps the world. */
  park(): void {
    this.gap = this.spec.openWidth;
    this.faceOffset = 0;
    this.tip = [this.home[0], this.home[1], PARK_HEIGHT];
    this.place(true);
  }

  /** Put hand and fingers at the pose: teleport, or as next kinematic targets. */
  place(teleport: boolean): void {
    const g = this.spec;
    const [x, y, z] = this.tip;
    const c = Math.cos(this.yaw);
    const s = Math.sin(this.yaw);
    const q = { x: 0, y: 0, z: Math.sin(this.yaw / 2), w: Math.cos(this.yaw / 2) };
    const handZ = z + g.fingerLength + PALM_HEIGHT / 2;
    const o0 = this.gap / 2 + this.faceOffset + g.fingerThickness / 2;
    const o1 = this.gap / 2 - this.faceOffset + g.fingerThickness / 2;
    const fz = z + g.fingerLength / 2;
    const poses: [RigidBody, number, number, number][] = [
      [this.hand, x, y, handZ],
      [this.fingers[0], x + o0 * c, y + o0 * s, fz],
      [this.fingers[1], x - o1 * c, y - o1 * s, fz],
    ];
    for (const [b, px, py, pz] of poses) {
      if (teleport) {
        b.setTranslation({ x: px, y: py, z: pz }, true);
        b.setRotation(q, true);
        b.setNextKinematicTranslation({ x: px, y: py, z: pz });
        b.setNextKinematicRotation(q);
      } else {
        b.setNextKinematicTranslation({ x: px, y: py, z: pz });
        b.setNextKinematicRotation(q);
      }
    }
  }

  /** Set the fingers' inner faces at `left` and `right` metres from the hand's centre line (next kinematic targets). */
  setFingerFaces(left: number, right: number): void {
    const g = this.spec;
    const [x, y, z] = this.tip;
    const c = Math.cos(this.yaw);
    const s = Math.sin(this.yaw);
    const fz = z + g.fingerLength / 2;
    const o0 = left + g.fingerThickness / 2;
    const o1 = right + g.fingerThickness / 2;
    this.fingers[0].setNextKinematicTranslation({ x: x + o0 * c, y: y + o0 * s, z: fz });
    this.fingers[1].setNextKinematicTranslation({ x: x - o1 * c, y: y - o1 * s, z: fz });
    this.hand.setNextKinematicTranslation({ x, y, z: z + g.fingerLength + PALM_HEIGHT / 2 });
    // Keep the pose in sync so that a move carries the fingers at their closed offsets.
    this.gap = left + right;
    this.faceOffset = (left - right) / 2;
  }

  /**
   * Dynamic objects touching a finger's inner face (within `tol` m): a thin probe box laid on
   * the inner face, tested against the dynamic colliders. A neighbour touching the outer face
   * does not count. (Geometric, because the JS contact manifold's distances read stale here.)
   */
  touching(finger: number, tol = 0.001): Set<number> {
    const g = this.spec;
    const out = new Set<number>();
    // Into the gap: finger 0 sits on the +closing axis, so its inner face looks along −axis.
    const sign = finger === 0 ? -1 : 1;
    const ax = sign * Math.cos(this.yaw);
    const ay = sign * Math.sin(this.yaw);
    const p = this.fingers[finger].translation();
    const d = g.fingerThickness / 2 + tol / 2;
    this.probe ??= new this.R.Cuboid(tol / 2, g.fingerWidth / 2, g.fingerLength / 2);
    this.probe.halfExtents = { x: tol / 2, y: g.fingerWidth / 2, z: g.fingerLength / 2 };
    const q = { x: 0, y: 0, z: Math.sin(this.yaw / 2), w: Math.cos(this.yaw / 2) };
    this.world.intersectionsWithShape(
      { x: p.x + d * ax, y: p.y + d * ay, z: p.z },
      q,
      this.probe,
      (c) => {
        out.add(c.handle);
        return true;
      },
      this.R.QueryFilterFlags.EXCLUDE_FIXED | this.R.QueryFilterFlags.EXCLUDE_KINEMATIC,
    );
    return out;
  }

  /** Whether a finger's tip rests on a dynamic object: a slab `tol` m thick just under either finger's bottom face meets one. */
  landed(tol = 0.001): boolean {
    const g = this.spec;
    const q = { x: 0, y: 0, z: Math.sin(this.yaw / 2), w: Math.cos(this.yaw / 2) };
    this.probe ??= new this.R.Cuboid(g.fingerThickness / 2, g.fingerWidth / 2, tol / 2);
    this.probe.halfExtents = { x: g.fingerThickness / 2, y: g.fingerWidth / 2, z: tol / 2 };
    let hit = false;
    for (const f of this.fingers) {
      const p = f.translation();
      hit = this.probeHitsDynamic({ x: p.x, y: p.y, z: p.z - g.fingerLength / 2 - tol / 2 }, q) || hit;
    }
    return hit;
  }

  /** Whether the probe shape at `center`, rotated by `q`, overlaps a dynamic object (the table and gripper excluded). */
  private probeHitsDynamic(center: { x: number; y: number; z: number }, q: { x: number; y: number; z: number; w: number }): boolean {
    let hit = false;
    this.world.intersectionsWithShape(
      center,
      q,
      this.probe!,
      () => {
        hit = true;
        return false;
      },
      this.R.QueryFilterFlags.EXCLUDE_FIXED | this.R.QueryFilterFlags.EXCLUDE_KINEMATIC,
    );
    return hit;
  }

  /** Whether a dynamic object reaches at least `depth` m into a finger through its inner face. */
  pressing(finger: number, depth: number): boolean {
    const g = this.spec;
    const sign = finger === 0 ? -1 : 1;
    const ax = sign * Math.cos(this.yaw);
    const ay = sign * Math.sin(this.yaw);
    const p = this.fingers[finger].translation();
    // A thin slab inside the pad, `depth` behind its inner face.
    const d = g.fingerThickness / 2 - depth - 0.00025;
    this.probe ??= new this.R.Cuboid(0.00025, g.fingerWidth / 2, g.fingerLength / 2);
    this.probe.halfExtents = { x: 0.00025, y: g.fingerWidth / 2, z: g.fingerLength / 2 };
    const q = { x: 0, y: 0, z: Math.sin(this.yaw / 2), w: Math.cos(this.yaw / 2) };
    return this.probeHitsDynamic({ x: p.x + d * ax, y: p.y + d * ay, z: p.z }, q);
  }

  /** Whether the objects on finger 0 (`a`) and on finger 1 (`b`) form one rigid chain: the same object, or two in contact. */
  resists(a: Set<number>, b: Set<number>): boolean {
    if (a.size === 0 || b.size === 0) return false;
    for (const h of a) if (b.has(h)) return true;
    for (const ha of a) {
      const ca = this.world.getCollider(ha);
      for (const hb of b) {
        let touching = false;
        this.world.contactPair(ca, this.world.getCollider(hb), (m) => {
          if (m.numSolverContacts() > 0) touching = true;
        });
        if (touching) return true;
      }
    }
    return false;
  }

  /** The viewer's boxes: name, full size and body of the hand and each finger. */
  parts(): [string, number[], RigidBody][] {
    const g = this.spec;
    return [
      ['gripper-hand', [g.openWidth + 2 * g.fingerThickness, g.fingerWidth, PALM_HEIGHT], this.hand],
      ['gripper-finger-0', [g.fingerThickness, g.fingerWidth, g.fingerLength], this.fingers[0]],
      ['gripper-finger-1', [g.fingerThickness, g.fingerWidth, g.fingerLength], this.fingers[1]],
    ];
  }
}
