import type { BodyDescription } from '../../src/core/frames.js';
import type { Collider, Rapier, RigidBody, World } from '../rapier.js';
import { buildStaticWorld } from '../world.js';
import type { Quaternion, SlotSpec } from './clutter.js';
import { Gripper } from './gripper.js';
import type { ManipulationScene } from './scene.js';

/**
 * One episode's Rapier world of the manipulation task: the table (sim/world.ts's static
 * ground, sized to the workspace), the gripper, and the objects dropped on the table, with the
 * colour class of each object's collider for the heightmap camera. A fresh tabletop is built
 * for every episode, so no contact or solver cache leaks from one episode into the next.
 */
export interface SimObject {
  id: number;
  name: string;
  body: RigidBody | null;
  collider: Collider | null;
  shape: 'box' | 'cylinder' | 'hull';
  /** box: [sx, sy, sz]; cylinder: [radius, height]. */
  size: number[];
  color: string;
  colorClass: number;
  isTarget: boolean;
  /** Where the last pose was, for frames after the object was taken away. */
  pose: number[];
}

/** Half the table's thickness, m: its top face is z = 0. */
const TABLE_HALF_THICKNESS = 0.025;
const TABLE_FRICTION = 0.6;

export class Tabletop {
  readonly world: World;
  readonly gripper: Gripper;
  /** The table's viewer description (id 0). */
  readonly table: BodyDescription;
  /** collider handle → colour class; the table and the gripper are absent (class 0). */
  readonly classOf = new Map<number, number>();
  /** The objects dropped this episode, in drop order (taken-away ones keep their entry, body null). */
  objects: SimObject[] = [];
  target: SimObject | undefined;
  /** Seconds per physics step. */
  readonly h: number;

  /** `home`: the (x, y) the gripper parks above; `onStep` runs after every physics step. */
  constructor(
    private readonly R: Rapier,
    private readonly scene: ManipulationScene,
    home: [number, number],
    private readonly onStep: () => void,
  ) {
    this.h = 1 / scene.physicsHz;
    const ws = scene.workspace;
    const built = buildStaticWorld(R, {
      timestep: this.h,
      groundSize: [ws.size, ws.size],
      groundCenter: [ws.center[0], ws.center[1]],
      groundMargin: ws.tableMargin,
      groundHalfThickness: TABLE_HALF_THICKNESS,
      groundFriction: TABLE_FRICTION,
      groundName: 'table',
      groundColor: ws.tableColor,
      boxes: [],
    });
    const world = built.world;
    world.numSolverIterations = scene.solverIterations;
    // Stiffer contacts than Rapier's default (30 Hz): a squeezed object then pushes back on the
    // fingers with a grip force that friction can use, at a penetration of a millimetre or two.
    world.integrationParameters.contact_natural_frequency = scene.contactHz;
    this.world = world;
    this.table = built.bodies[0];
    this.gripper = new Gripper(R, world, scene.gripper, home);
  }

  /** Drop the object of `spec` at `pos`, at rest. Dynamic, never sleeping: a moving finger always meets a live contact. */
  addObject(spec: SlotSpec, pos: [number, number, number], rot: Quaternion): SimObject {
    const { R, world, scene } = this;
    const { shape, size } = spec;
    const body = world.createRigidBody(
      R.RigidBodyDesc.dynamic().setTranslation(...pos).setRotation(rot).setLinearDamping(0.1).setAngularDamping(0.3).setCanSleep(false),
    );
    let desc;
    if (shape === 'box') desc = R.ColliderDesc.cuboid(size[0] / 2, size[1] / 2, size[2] / 2);
    else if (shape === 'hull') {
      desc = R.ColliderDesc.convexHull(spec.points!);
      if (!desc) throw new Error(`${spec.name}: its ${spec.points!.length / 3} points span no convex hull`);
    } else {
      // Rapier's cylinder axis is local y; turn it to the body's z so the pose reads as the viewer's "cylinder along z".
      desc = R.ColliderDesc.cylinder(size[1] / 2, size[0]).setRotation({ x: Math.SQRT1_2, y: 0, z: 0, w: Math.SQRT1_2 });
    }
    const collider = world.createCollider(desc.setDensity(spec.density ?? scene.clutter.density).setFriction(scene.clutter.friction), body);
    this.classOf.set(collider.handle, spec.colorClass);
    const o: SimObject = {
      id: spec.id,
      name: spec.name,
      body,
      collider,
      shape,
      size,
      color: spec.color,
      colorClass: spec.colorClass,
      isTarget: spec.isTarget,
      pose: [...pos, rot.x, rot.y, rot.z, rot.w],
    };
    this.objects.push(o);
    if (spec.isTarget) this.target = o;
    return o;
  }

  /** Take an object out of the world (grasped into the bin, or fallen), keeping its last pose. */
  removeObject(o: SimObject): void {
    if (!o.body) return;
    const p = o.body.translation();
    const q = o.body.rotation();
    o.pose = [p.x, p.y, p.z, q.x, q.y, q.z, q.w];
    this.classOf.delete(o.collider!.handle);
    this.world.removeRigidBody(o.body);
    o.body = null;
    o.collider = null;
  }

  /** Remove what fell off the table. */
  removeFallen(): void {
    for (const o of this.objects) {
      if (o.body && o.body.translation().z < -0.1) this.removeObject(o);
    }
  }

  /** One physics step; the gripper's kinematic targets must be set before. */
  step(): void {
    this.world.step();
    this.onStep();
  }

  /** Let the world run for `seconds`, the gripper held where it is. */
  settle(seconds: number): void {
    const n = Math.round(seconds / this.h);
    for (let i = 0; i < n; i++) {
      this.gripper.place(false);
      this.step();
    }
  }

  /** Position of every object still in the world, by name. */
  objectPositions(): { name: string; isTarget: boolean; position: [number, number, number] }[] {
    return this.objects
      .filter((o) => o.body)
      .map((o) => {
        const p = o.body!.translation();
        return { name: o.name, isTarget: o.isTarget, position: [p.x, p.y, p.z] as [number, number, number] };
      });
  }

  free(): void {
    this.world.free();
  }
}

/** A body's pose [x, y, z, qx, qy, qz, qw]. */
export function poseOf(b: RigidBody): number[] {
  const p = b.translation();
  const q = b.rotation();
  return [p.x, p.y, p.z, q.x, q.y, q.z, q.w];
}
