import type { Collider, Cuboid, Ray, RigidBody, World } from '../rapier.js';
import type { BodyDescription, SceneDescription } from '../../src/core/frames.js';
import { Rng } from '../../src/core/rng.js';
import type { Rapier } from '../rapier.js';
import type { SimBackend } from '../task.js';
import type { ManipGeometry, ManipSetpoint, ManipState, ManipulationModel } from './model.js';
import type { ManipulationScene } from './scene.js';

/**
 * The simulated half of the manipulation task: a Rapier table, seeded clutter and a
 * parallel-jaw gripper whose hand and two fingers are kinematic (position-driven) bodies
 * with real colliders. Each `advance` runs one motion primitive to completion at the
 * physics rate (240 Hz): the fingers push, squeeze and lift objects only through contacts
 * and friction. Nothing is welded or attached; a grasp succeeds when, after the lift, an
 * object still touches both fingers and has risen with them.
 *
 * Between primitives the gripper is parked above the workspace and teleported, through free
 * air, to the approach height above the chosen point: the paper's arm moves the same way,
 * and only the descent, the primitive and the lift touch anything.
 */
/** A body slot: fixed per scene, so that one SceneDescription holds for every episode. */
interface SlotSpec {
  id: number;
  name: string;
  shape: 'box' | 'cylinder' | 'hull';
  /** box and hull: [sx, sy, sz] (the hull's bounding extents); cylinder: [radius, height]. */
  size: number[];
  /** hull: its points [x, y, z, ...] in the body frame, centred on the bounding box. */
  points?: Float32Array;
  color: string;
  colorClass: number;
  isTarget: boolean;
  /** Resting height when upright (for stacking the drop heights). */
  height: number;
}

interface SimObject {
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

const PARK_HEIGHT = 0.45;
const GONE_POSE = [0, 0, -1, 0, 0, 0, 1];

export class ManipulationBackend implements SimBackend<ManipState, ManipSetpoint> {
  private world!: World;
  private objects: SimObject[] = [];
  private target!: SimObject;
  private hand!: RigidBody;
  private fingers: RigidBody[] = [];
  private fingerColliders: Collider[] = [];
  /** collider handle → colour class, for the colour map. */
  private classOf = new Map<number, number>();
  private s!: ManipState;
  private rng!: Rng;
  private ray!: Ray;
  private readonly h: number;
  readonly geometry: ManipGeometry;
  // Gripper pose: finger-tip centre, yaw, inner gap.
  private gp: [number, number, number] = [0, 0, PARK_HEIGHT];
  private gyaw = 0;
  private ggap = 0;
  /** Offset of the gap's centre from the hand axis along the closing axis (after an off-centre close). */
  private faceOffset = 0;
  private readonly palmHeight = 0.02;
  /** Physics steps run since construction (bench). */
  physicsSteps = 0;
  /** The scene's object set: target, covers (used to hide the target), clutter. */
  private readonly pool: { target: SlotSpec; covers: SlotSpec[]; clutter: SlotSpec[] };
  /** The slots of the current episode (the pool, or resetWith's objects). */
  private slots: SlotSpec[];

  constructor(
    private readonly R: Rapier,
    readonly scene: ManipulationScene,
    readonly model: ManipulationModel,
  ) {
    this.h = 1 / scene.physicsHz;
    this.geometry = model.geometry;
    this.pool = this.buildPool(new Rng(scene.clutter.shapeSeed));
    this.slots = [this.pool.target, ...this.pool.covers, ...this.pool.clutter];
    this.buildWorld();
  }

  /**
   * The objects of this scene, drawn once from `clutter.shapeSeed`: every episode draws its
   * clutter from this set (random subset, random poses), so the viewer's SceneDescription,
   * sent once, is right for every episode. The paper's simulator also draws from a fixed set.
   */
  private buildPool(rng: Rng): { target: SlotSpec; covers: SlotSpec[]; clutter: SlotSpec[] } {
    const { scene } = this;
    const c = scene.clutter;
    const t = scene.target;
    let id = 1;
    const target: SlotSpec = {
      id: id++,
      name: 'target',
      shape: t.shape,
      size: t.shape === 'box' ? t.size.slice(0, 3) : t.size.slice(0, 2),
      color: t.color,
      colorClass: this.model.targetClass,
      isTarget: true,
      height: t.shape === 'box' ? t.size[2] : t.size[1],
    };
    const covers: SlotSpec[] = [];
    // Covers are flat boxes a little wider than the target, so that the target can hide under them.
    const tw = Math.max(t.size[0], t.size.length === 3 ? t.size[1] : 2 * t.size[0]) + 0.02;
    for (let k = 0; k < 5; k++) {
      const cls = 1 + rng.int(c.colors.length);
      const size = [tw + rng.uniform(0, 0.015), tw + rng.uniform(0, 0.015), rng.uniform(c.boxSize[0], c.boxSize[1]) * 0.6];
      covers.push({ id: id++, name: `cover-${k}`, shape: 'box', size, color: c.colors[cls - 1], colorClass: cls, isTarget: false, height: size[2] });
    }
    const clutter: SlotSpec[] = [];
    for (let k = 0; k < c.count[1]; k++) {
      const cls = 1 + rng.int(c.colors.length);
      const u = rng.next();
      if (u < c.cylinderFraction) {
        const size = [rng.uniform(...c.cylinderRadius), rng.uniform(...c.cylinderHeight)];
        clutter.push({ id: id++, name: `cylinder-${k}`, shape: 'cylinder', size, color: c.colors[cls - 1], colorClass: cls, isTarget: false, height: Math.max(size[1], 2 * size[0]) });
      } else if (u < c.cylinderFraction + c.hullFraction) {
        const { points, size } = randomHull(rng, [rng.uniform(...c.hullSize), rng.uniform(...c.hullSize), rng.uniform(...c.hullSize)], c.hullPoints);
        clutter.push({ id: id++, name: `hull-${k}`, shape: 'hull', size, points, color: c.colors[cls - 1], colorClass: cls, isTarget: false, height: Math.max(...size) });
      } else {
        const size = [rng.uniform(...c.boxSize), rng.uniform(...c.boxSize), rng.uniform(...c.boxSize)];
        clutter.push({ id: id++, name: `box-${k}`, shape: 'box', size, color: c.colors[cls - 1], colorClass: cls, isTarget: false, height: Math.max(...size) });
      }
    }
    return { target, covers, clutter };
  }

  // ---------------------------------------------------------------- world building

  private buildWorld(): void {
    if (this.world) this.world.free();
    const { R, scene } = this;
    const world = new R.World({ x: 0, y: 0, z: -9.81 });
    world.timestep = this.h;
    world.numSolverIterations = scene.solverIterations;
    // Stiffer contacts than Rapier's default (30 Hz): a squeezed object then pushes back on the
    // fingers with a grip force that friction can use, at a penetration of a millimetre or two.
    world.integrationParameters.contact_natural_frequency = scene.contactHz;
    this.world = world;
    this.classOf.clear();
    this.objects = [];
    const ws = scene.workspace;
    const half = ws.size / 2 + ws.tableMargin;
    const table = world.createRigidBody(R.RigidBodyDesc.fixed().setTranslation(ws.center[0], ws.center[1], -0.025));
    const tc = world.createCollider(R.ColliderDesc.cuboid(half, half, 0.025).setFriction(0.6), table);
    this.classOf.set(tc.handle, 0);
    this.ray = new R.Ray({ x: 0, y: 0, z: 1 }, { x: 0, y: 0, z: -1 });
    this.probe = null;
    this.buildGripper();
  }

  private buildGripper(): void {
    const { R, world } = this;
    const g = this.scene.gripper;
    this.hand = world.createRigidBody(R.RigidBodyDesc.kinematicPositionBased().setTranslation(0, 0, PARK_HEIGHT + g.fingerLength));
    world.createCollider(
      R.ColliderDesc.cuboid(g.openWidth / 2 + g.fingerThickness, g.fingerWidth / 2, this.palmHeight / 2).setFriction(g.friction),
      this.hand,
    );
    this.fingers = [];
    this.fingerColliders = [];
    for (let i = 0; i < 2; i++) {
      const f = world.createRigidBody(R.RigidBodyDesc.kinematicPositionBased().setTranslation(0, 0, PARK_HEIGHT));
      const c = world.createCollider(
        R.ColliderDesc.cuboid(g.fingerThickness / 2, g.fingerWidth / 2, g.fingerLength / 2)
          .setFriction(g.friction)
          .setFrictionCombineRule(R.CoefficientCombineRule.Max),
        f,
      );
      this.fingers.push(f);
      this.fingerColliders.push(c);
    }
    this.gp = [this.geometry.x0 + this.geometry.size / 2, this.geometry.y0 + this.geometry.size / 2, PARK_HEIGHT];
    this.gyaw = 0;
    this.ggap = g.openWidth;
    this.placeGripper(true);
  }

  /** Put hand and fingers at the gripper pose: teleport, or as next kinematic targets. */
  private placeGripper(teleport: boolean): void {
    const g = this.scene.gripper;
    const [x, y, z] = this.gp;
    const c = Math.cos(this.gyaw);
    const s = Math.sin(this.gyaw);
    const q = { x: 0, y: 0, z: Math.sin(this.gyaw / 2), w: Math.cos(this.gyaw / 2) };
    const handZ = z + g.fingerLength + this.palmHeight / 2;
    const o0 = this.ggap / 2 + this.faceOffset + g.fingerThickness / 2;
    const o1 = this.ggap / 2 - this.faceOffset + g.fingerThickness / 2;
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

  private addObject(spec: SlotSpec, pos: [number, number, number], rot: { x: number; y: number; z: number; w: number }): SimObject {
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
    const collider = world.createCollider(desc.setDensity(scene.clutter.density).setFriction(scene.clutter.friction), body);
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

  private randomRotation(tipped: boolean): { x: number; y: number; z: number; w: number } {
    const yaw = this.rng.uniform(0, 2 * Math.PI);
    const qz = { x: 0, y: 0, z: Math.sin(yaw / 2), w: Math.cos(yaw / 2) };
    if (!tipped) return qz;
    // Lying on a side: roll 90° about x, then the yaw.
    const r = { x: Math.SQRT1_2, y: 0, z: 0, w: Math.SQRT1_2 };
    return {
      w: qz.w * r.w - qz.z * r.z,
      x: qz.w * r.x - qz.z * r.y,
      y: qz.w * r.y + qz.z * r.x,
      z: qz.z * r.w + qz.w * r.z,
    };
  }

  // ---------------------------------------------------------------- episode

  reset(rng: Rng): ManipState {
    this.rng = rng;
    this.slots = [this.pool.target, ...this.pool.covers, ...this.pool.clutter];
    this.buildWorld();
    this.target = undefined as unknown as SimObject;
    const { scene, pool } = this;
    const c = scene.clutter;
    const cx0 = scene.workspace.center[0];
    const cy0 = scene.workspace.center[1];
    const jr = c.centerJitter * Math.sqrt(rng.next());
    const ja = rng.uniform(0, 2 * Math.PI);
    const pile: [number, number] = [cx0 + jr * Math.cos(ja), cy0 + jr * Math.sin(ja)];
    const count = c.count[0] + rng.int(c.count[1] - c.count[0] + 1);
    const hidden = rng.next() < scene.hiddenProbability;
    const chosen = rng.shuffle(pool.clutter.slice()).slice(0, count);
    const covers = pool.covers.slice();
    const dropTarget = (z: number) => {
      const a = rng.uniform(0, 2 * Math.PI);
      const r = hidden ? 0.01 * rng.next() : c.spawnRadius * Math.sqrt(rng.next());
      this.addObject(pool.target, [pile[0] + r * Math.cos(a), pile[1] + r * Math.sin(a), z], this.randomRotation(false));
    };
    let z = 0.005;
    if (hidden) {
      dropTarget(pool.target.height / 2 + 0.001);
      z += pool.target.height + 0.01;
    }
    // Hidden: two covers straight over the target first, then the clutter on and around them.
    const drops = hidden ? [covers.shift()!, covers.shift()!, ...chosen] : chosen;
    const among = !hidden && scene.target.placement === 'among' ? rng.int(drops.length) : -1;
    drops.forEach((spec, k) => {
      if (k === among) {
        dropTarget(z + pool.target.height / 2);
        z += pool.target.height + 0.005;
      }
      const cover = hidden && k < 2;
      const a = rng.uniform(0, 2 * Math.PI);
      const r = cover ? 0.008 * rng.next() : c.spawnRadius * Math.sqrt(rng.next());
      const tipped = !cover && rng.next() < c.tippedFraction;
      this.addObject(spec, [pile[0] + r * Math.cos(a), pile[1] + r * Math.sin(a), z + spec.height / 2], this.randomRotation(tipped));
      z += spec.height + 0.005;
    });
    this.settle(scene.settleSeconds);
    this.s = this.freshState();
    this.observeWorld();
    if (among >= 0 && this.s.targetPixels === 0) {
      // Dropped among the clutter but buried: take it out and drop it on top instead.
      this.removeObject(this.target);
      this.objects = this.objects.filter((o) => o !== this.target);
      this.observeWorld();
    }
    if (!hidden && (among < 0 || !this.objects.includes(this.target))) {
      // Visible: dropped last, from just above the pile, so that it lands among the clutter.
      dropTarget(this.maxHeight() + pool.target.height / 2 + 0.01);
      this.settle(0.6);
      this.observeWorld();
    }
    // The hidden case must really hide: add covers over the target until no pixel of it shows,
    // then the clutter objects this episode did not draw.
    const spares = [...covers, ...pool.clutter.filter((o) => !chosen.includes(o))];
    while (hidden && this.s.targetPixels > 0 && spares.length) {
      const tp = this.target.body!.translation();
      const spec = spares.shift()!;
      this.addObject(spec, [tp.x, tp.y, this.maxHeight() + spec.height / 2 + 0.01], this.randomRotation(false));
      this.settle(0.6);
      this.observeWorld();
    }
    this.s.simTime = 0;
    this.s.hiddenAtStart = this.s.targetPixels === 0;
    return this.s;
  }

  /**
   * Start an episode with objects placed by hand (tests, benches): no random clutter. The
   * first object flagged `isTarget` is the target; there must be exactly one.
   */
  resetWith(
    placed: { shape: 'box' | 'cylinder'; size: number[]; position: [number, number, number]; yaw?: number; isTarget?: boolean }[],
    settleSeconds = 0.5,
  ): ManipState {
    this.buildWorld();
    const c = this.scene.clutter;
    this.slots = placed.map((o, k) => ({
      id: 1 + k,
      name: o.isTarget ? 'target' : `${o.shape}-${k}`,
      shape: o.shape,
      size: o.size,
      color: o.isTarget ? this.scene.target.color : c.colors[0],
      colorClass: o.isTarget ? this.model.targetClass : 1,
      isTarget: !!o.isTarget,
      height: o.shape === 'box' ? o.size[2] : o.size[1],
    }));
    placed.forEach((o, k) => {
      const yaw = o.yaw ?? 0;
      this.addObject(this.slots[k], o.position, { x: 0, y: 0, z: Math.sin(yaw / 2), w: Math.cos(yaw / 2) });
    });
    if (!this.objects.some((o) => o.isTarget)) throw new Error('resetWith: one object must be the target');
    this.s = this.freshState();
    this.settle(settleSeconds);
    this.observeWorld();
    this.s.simTime = 0;
    this.s.hiddenAtStart = this.s.targetPixels === 0;
    return this.s;
  }

  /** Position of every object still in the scene, by name (tests, privileged controllers). */
  objectPositions(): { name: string; isTarget: boolean; position: [number, number, number] }[] {
    return this.objects
      .filter((o) => o.body)
      .map((o) => {
        const p = o.body!.translation();
        return { name: o.name, isTarget: o.isTarget, position: [p.x, p.y, p.z] as [number, number, number] };
      });
  }

  private freshState(): ManipState {
    const n = this.geometry.P * this.geometry.P;
    return {
      heightmap: new Float32Array(n),
      colorMap: new Uint8Array(n),
      targetMask: new Uint8Array(n),
      targetPixels: 0,
      motions: 0,
      pushes: 0,
      grasps: 0,
      graspSuccesses: 0,
      consecutiveGraspFailures: 0,
      lastGraspSuccess: false,
      targetGrasped: false,
      targetLost: false,
      hiddenAtStart: false,
      simTime: 0,
      targetPosition: [0, 0, 0],
      lastSetpoint: null,
    };
  }

  state(): ManipState {
    return this.s;
  }

  /** One physics step; the gripper's kinematic targets must be set before. */
  private step(): void {
    this.world.step();
    this.physicsSteps++;
    if (this.s) this.s.simTime += this.h;
  }

  private settle(seconds: number): void {
    const n = Math.round(seconds / this.h);
    for (let i = 0; i < n; i++) {
      this.placeGripper(false);
      this.step();
    }
  }

  // ---------------------------------------------------------------- sensing

  /** Top-down ray casts over the workspace: heightmap, colour classes, target mask. */
  observeWorld(): void {
    const { R, world, geometry: g, s } = this;
    const ray = this.ray;
    const exclude = R.QueryFilterFlags.EXCLUDE_KINEMATIC;
    let targetPixels = 0;
    for (let r = 0; r < g.P; r++) {
      for (let c = 0; c < g.P; c++) {
        const i = r * g.P + c;
        ray.origin = { x: g.x0 + (c + 0.5) * g.res, y: g.y0 + (r + 0.5) * g.res, z: 1 };
        const hit = world.castRay(ray, 2, true, exclude);
        if (!hit) {
          s.heightmap[i] = 0;
          s.colorMap[i] = 0;
          s.targetMask[i] = 0;
          continue;
        }
        s.heightmap[i] = Math.max(0, 1 - hit.timeOfImpact);
        const cls = this.classOf.get(hit.collider.handle) ?? 0;
        s.colorMap[i] = cls;
        const isTarget = cls === this.model.targetClass ? 1 : 0;
        s.targetMask[i] = isTarget;
        targetPixels += isTarget;
      }
    }
    s.targetPixels = targetPixels;
    const tb = this.target?.body;
    if (tb) {
      const p = tb.translation();
      s.targetPosition = [p.x, p.y, p.z];
    }
  }

  private maxHeight(): number {
    let m = 0;
    for (const v of this.s.heightmap) if (v > m) m = v;
    return m;
  }

  /** Max height within ±w metres of (x, y), from the last heightmap. */
  private localMax(x: number, y: number, w: number): number {
    const g = this.geometry;
    const k = Math.round(w / g.res);
    const [r0, c0] = g.worldToPixel(x, y);
    let m = 0;
    for (let r = Math.max(0, r0 - k); r <= Math.min(g.P - 1, r0 + k); r++) {
      for (let c = Math.max(0, c0 - k); c <= Math.min(g.P - 1, c0 + k); c++) m = Math.max(m, this.s.heightmap[r * g.P + c]);
    }
    return m;
  }

  // ---------------------------------------------------------------- primitives

  advance(sp: ManipSetpoint, _dt: number): ManipState {
    const s = this.s;
    s.lastSetpoint = { ...sp };
    if (sp.primitive === 'push') {
      this.push(sp.x, sp.y, sp.theta);
      s.pushes++;
      s.motions++;
    } else if (sp.primitive === 'grasp') {
      const held = this.grasp(sp.x, sp.y, sp.theta);
      s.grasps++;
      s.motions++;
      s.lastGraspSuccess = held.length > 0;
      if (held.length > 0) {
        s.graspSuccesses++;
        s.consecutiveGraspFailures = 0;
      } else s.consecutiveGraspFailures++;
      if (held.some((o) => o.isTarget)) s.targetGrasped = true;
    } else {
      this.settle(0.05);
    }
    this.removeFallen();
    this.observeWorld();
    const tb = this.target.body;
    if (tb && !s.targetGrasped) {
      const p = tb.translation();
      if (p.z < -0.02 || !this.geometry.inWorkspace(p.x, p.y)) s.targetLost = true;
    }
    return s;
  }

  /** Move the gripper tip to `to` at `speed` m/s, physically (kinematic targets each step). */
  private moveTo(to: [number, number, number], speed: number, maxSeconds = 3): void {
    const d = speed * this.h;
    const maxSteps = Math.ceil(maxSeconds / this.h);
    for (let i = 0; i < maxSteps; i++) {
      const dx = to[0] - this.gp[0];
      const dy = to[1] - this.gp[1];
      const dz = to[2] - this.gp[2];
      const dist = Math.hypot(dx, dy, dz);
      if (dist < 1e-6) break;
      const f = Math.min(1, d / dist);
      this.gp = [this.gp[0] + f * dx, this.gp[1] + f * dy, this.gp[2] + f * dz];
      this.placeGripper(false);
      this.step();
    }
  }

  /** Teleport through free air above everything to (x, y), at the approach height. */
  private approach(x: number, y: number, yaw: number, gap: number): number {
    const above = this.maxHeight() + 0.03;
    this.gp = [x, y, above];
    this.gyaw = yaw;
    this.ggap = gap;
    this.faceOffset = 0;
    this.placeGripper(true);
    this.step();
    return above;
  }

  private park(): void {
    this.ggap = this.scene.gripper.openWidth;
    this.faceOffset = 0;
    this.gp = [this.geometry.x0 + this.geometry.size / 2, this.geometry.y0 + this.geometry.size / 2, PARK_HEIGHT];
    this.placeGripper(true);
    this.step();
  }

  /**
   * Dynamic objects touching a finger's inner face (within `tol` m): a thin probe box laid on
   * the inner face, tested against the dynamic colliders. A neighbour touching the outer face
   * does not count. (Geometric, because the JS contact manifold's distances read stale here.)
   */
  private touching(finger: number, tol = 0.001): Set<number> {
    const g = this.scene.gripper;
    const out = new Set<number>();
    // Into the gap: finger 0 sits on the +closing axis, so its inner face looks along −axis.
    const sign = finger === 0 ? -1 : 1;
    const ax = sign * Math.cos(this.gyaw);
    const ay = sign * Math.sin(this.gyaw);
    const p = this.fingers[finger].translation();
    const d = g.fingerThickness / 2 + tol / 2;
    this.probe ??= new this.R.Cuboid(tol / 2, g.fingerWidth / 2, g.fingerLength / 2);
    this.probe.halfExtents = { x: tol / 2, y: g.fingerWidth / 2, z: g.fingerLength / 2 };
    const q = { x: 0, y: 0, z: Math.sin(this.gyaw / 2), w: Math.cos(this.gyaw / 2) };
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

  private probe: Cuboid | null = null;

  /**
   * push(x, y, θ) (Yang et al.; as in VPG): closed fingers descend beside the point until the
   * tool centre is at the local max height (±1 cm) + 1.5 cm (tips `pushTipOffset` below it),
   * move `pushLength` along θ, and rise.
   */
  push(x: number, y: number, theta: number): void {
    const g = this.scene.gripper;
    const top = this.approach(x, y, theta, 0);
    const tcp = this.localMax(x, y, g.pushWindow) + g.pushClearance;
    const tip = Math.max(0.004, tcp - g.pushTipOffset);
    this.moveTo([x, y, tip], g.speed);
    const ex = x + g.pushLength * Math.cos(theta);
    const ey = y + g.pushLength * Math.sin(theta);
    this.moveTo([ex, ey, tip], g.pushSpeed);
    this.moveTo([ex, ey, Math.max(top, tip + 0.05)], g.speed);
    this.park();
    this.settle(0.25);
  }

  /**
   * grasp(x, y, θ) (Yang et al.): open fingers descend until the pad centre is at the local
   * height − 4 cm, never below table + 2 cm; the fingers close until each touches an object,
   * press `squeeze` further, and the hand lifts. Returns the objects still held after the lift.
   */
  grasp(x: number, y: number, theta: number): SimObject[] {
    const g = this.scene.gripper;
    const gm = this.geometry;
    const [row, col] = gm.worldToPixel(x, y);
    const local = this.s.heightmap[row * gm.P + col];
    const padCentre = Math.max(local - g.graspDepth, g.graspFloor);
    const tip = Math.max(0.003, padCentre - 0.015);
    this.approach(x, y, theta, g.openWidth);
    this.moveTo([x, y, tip], g.speed);
    const zBefore = new Map<number, number>();
    for (const o of this.objects) if (o.body) zBefore.set(o.collider!.handle, o.body.translation().z);

    // Close symmetrically, as a parallel-jaw gripper's linkage does: an object touched by one
    // finger slides toward the centre until the fingers meet resistance, i.e. both touch one
    // object, or two objects that press on each other.
    const halfStep = g.closeSpeed * this.h;
    let half = g.openWidth / 2;
    const maxSteps = Math.ceil(g.openWidth / 2 / halfStep) + 10;
    for (let i = 0; i < maxSteps; i++) {
      if (this.resists(this.touching(0), this.touching(1))) break;
      half = Math.max(0, half - halfStep);
      this.setFingerFaces(half, half);
      this.step();
      if (half <= 0) break;
    }
    // Grip: keep closing slowly until the object presses `squeeze` m into both finger pads (the
    // stand-in for a force threshold). Meanwhile a box touched corner-first turns square to the
    // pads, as it does in a real parallel gripper; a stall ends after `squeezeTravel`.
    if (half > 0) {
      const slow = 0.25 * g.closeSpeed * this.h;
      const maxTravel = Math.ceil(0.015 / slow);
      for (let i = 0; i < maxTravel && half > 0; i++) {
        if (this.pressing(0, g.squeeze) && this.pressing(1, g.squeeze)) break;
        half = Math.max(0, half - slow);
        this.setFingerFaces(half, half);
        this.step();
      }
      this.settle(0.05);
    }
    this.moveTo([this.gp[0], this.gp[1], g.liftHeight], g.speed);
    this.settle(0.2);

    // Held: touches both fingers and rose with the hand. No attachment was ever made.
    const both = this.touching(0, 0.002);
    const other = this.touching(1, 0.002);
    const held: SimObject[] = [];
    for (const o of this.objects) {
      if (!o.body) continue;
      const h = o.collider!.handle;
      const z = o.body.translation().z;
      if (both.has(h) && other.has(h) && z - (zBefore.get(h) ?? z) > 0.03 && z > g.heldHeight) held.push(o);
    }
    // A held object is taken out of the scene (placed in the bin), as the paper's robot does.
    for (const o of held) this.removeObject(o);
    this.ggap = g.openWidth;
    this.faceOffset = 0;
    this.placeGripper(false);
    this.step();
    this.park();
    this.settle(0.3);
    return held;
  }

  /** Whether a dynamic object reaches at least `depth` m into a finger through its inner face. */
  private pressing(finger: number, depth: number): boolean {
    const g = this.scene.gripper;
    const sign = finger === 0 ? -1 : 1;
    const ax = sign * Math.cos(this.gyaw);
    const ay = sign * Math.sin(this.gyaw);
    const p = this.fingers[finger].translation();
    // A thin slab inside the pad, `depth` behind its inner face.
    const d = g.fingerThickness / 2 - depth - 0.00025;
    this.probe ??= new this.R.Cuboid(0.00025, g.fingerWidth / 2, g.fingerLength / 2);
    this.probe.halfExtents = { x: 0.00025, y: g.fingerWidth / 2, z: g.fingerLength / 2 };
    const q = { x: 0, y: 0, z: Math.sin(this.gyaw / 2), w: Math.cos(this.gyaw / 2) };
    let hit = false;
    this.world.intersectionsWithShape(
      { x: p.x + d * ax, y: p.y + d * ay, z: p.z },
      q,
      this.probe,
      () => {
        hit = true;
        return false;
      },
      this.R.QueryFilterFlags.EXCLUDE_FIXED | this.R.QueryFilterFlags.EXCLUDE_KINEMATIC,
    );
    return hit;
  }

  /** Whether the objects on finger 0 and on finger 1 form one rigid chain: the same object, or two in contact. */
  private resists(a: Set<number>, b: Set<number>): boolean {
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

  /** Set the fingers' inner faces at `left` and `right` metres from the hand's centre line. */
  private setFingerFaces(left: number, right: number): void {
    const g = this.scene.gripper;
    const [x, y, z] = this.gp;
    const c = Math.cos(this.gyaw);
    const s = Math.sin(this.gyaw);
    const fz = z + g.fingerLength / 2;
    const o0 = left + g.fingerThickness / 2;
    const o1 = right + g.fingerThickness / 2;
    this.fingers[0].setNextKinematicTranslation({ x: x + o0 * c, y: y + o0 * s, z: fz });
    this.fingers[1].setNextKinematicTranslation({ x: x - o1 * c, y: y - o1 * s, z: fz });
    this.hand.setNextKinematicTranslation({ x, y, z: z + g.fingerLength + this.palmHeight / 2 });
    // Keep the pose in sync so that moveTo carries the fingers at their closed offsets.
    this.ggap = left + right;
    this.faceOffset = (left - right) / 2;
  }

  private removeObject(o: SimObject): void {
    if (!o.body) return;
    const p = o.body.translation();
    const q = o.body.rotation();
    o.pose = [p.x, p.y, p.z, q.x, q.y, q.z, q.w];
    this.classOf.delete(o.collider!.handle);
    this.world.removeRigidBody(o.body);
    o.body = null;
    o.collider = null;
  }

  private removeFallen(): void {
    for (const o of this.objects) {
      if (o.body && o.body.translation().z < -0.1) this.removeObject(o);
    }
  }

  // ---------------------------------------------------------------- viewer

  describe(): SceneDescription {
    const { scene } = this;
    const ws = scene.workspace;
    const g = scene.gripper;
    const half = ws.size / 2 + ws.tableMargin;
    const bodies: BodyDescription[] = [
      {
        id: 0,
        name: 'table',
        shape: 'box',
        size: [2 * half, 2 * half, 0.05],
        color: ws.tableColor,
        pose: [ws.center[0], ws.center[1], -0.025, 0, 0, 0, 1],
        dynamic: false,
        role: 'ground',
      },
    ];
    const present = new Map(this.objects.map((o) => [o.id, o]));
    for (const slot of this.slots) {
      const o = present.get(slot.id);
      bodies.push({
        id: slot.id,
        name: slot.name,
        // The viewer contract (src/core/frames.ts) has no mesh kind: a hull is drawn as its bounding box.
        shape: slot.shape === 'hull' ? 'box' : slot.shape,
        size: [...slot.size],
        color: slot.color,
        pose: o?.body ? this.poseOf(o.body) : [...GONE_POSE],
        dynamic: true,
        role: slot.isTarget ? 'target' : 'clutter',
      });
    }
    const n = this.slots.length + 1;
    const gripperParts: [string, number[], RigidBody][] = [
      ['gripper-hand', [g.openWidth + 2 * g.fingerThickness, g.fingerWidth, this.palmHeight], this.hand],
      ['gripper-finger-0', [g.fingerThickness, g.fingerWidth, g.fingerLength], this.fingers[0]],
      ['gripper-finger-1', [g.fingerThickness, g.fingerWidth, g.fingerLength], this.fingers[1]],
    ];
    gripperParts.forEach(([name, size, body], k) =>
      bodies.push({ id: n + k, name, shape: 'box', size, color: '#d0d4da', pose: this.poseOf(body), dynamic: true, role: 'gripper' }),
    );
    const gm = this.geometry;
    return {
      scene: scene.name,
      task: 'manipulation',
      bounds: [gm.x0, gm.y0, 0, gm.x0 + gm.size, gm.y0 + gm.size, PARK_HEIGHT + 0.1],
      bodies,
      overlay: {
        workspace: [gm.x0, gm.y0, gm.x0 + gm.size, gm.y0 + gm.size],
        heightmapPixels: gm.P,
        rotations: gm.R,
        pushLength: g.pushLength,
        targetId: this.slots.find((sl) => sl.isTarget)?.id ?? -1,
      },
    };
  }

  private poseOf(b: RigidBody): number[] {
    const p = b.translation();
    const q = b.rotation();
    return [p.x, p.y, p.z, q.x, q.y, q.z, q.w];
  }

  frame(s: ManipState) {
    const ids: number[] = [];
    const poses: number[] = [];
    const present = new Map(this.objects.map((o) => [o.id, o]));
    for (const slot of this.slots) {
      const o = present.get(slot.id);
      ids.push(slot.id);
      poses.push(...(o?.body ? this.poseOf(o.body) : GONE_POSE));
    }
    const n = this.slots.length + 1;
    [this.hand, this.fingers[0], this.fingers[1]].forEach((b, k) => {
      ids.push(n + k);
      poses.push(...this.poseOf(b));
    });
    const sp = s.lastSetpoint;
    return {
      poses: Float32Array.from(poses),
      bodyIds: ids,
      hud: {
        motions: s.motions,
        grasps: s.grasps,
        graspSuccesses: s.graspSuccesses,
        targetVisiblePx: s.targetPixels,
        targetGrasped: s.targetGrasped ? 1 : 0,
      },
      overlay: {
        primitive: sp && sp.primitive !== 'hold' ? { primitive: sp.primitive, x: sp.x, y: sp.y, theta: sp.theta } : null,
        pushLength: this.scene.gripper.pushLength,
        targetVisible: s.targetPixels > 0,
        lastGraspSuccess: s.lastGraspSuccess,
      },
    };
  }

  /** Bare Rapier stepping of the current world (bench). Returns seconds taken. */
  benchPhysics(steps: number): number {
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) this.world.step();
    return (performance.now() - t0) / 1000;
  }

  close(): void {
    this.world?.free();
    this.ray = undefined as unknown as Ray;
  }
}

/**
 * An irregular convex object: `n` points drawn on a jittered ellipsoid of semi-axes extents / 2
 * (radius 0.6..1 of the surface, so facets are uneven), re-centred on their bounding box. Returns
 * the points and the bounding extents (for drop heights and the viewer).
 */
function randomHull(rng: Rng, extents: number[], n: number): { points: Float32Array; size: number[] } {
  const pts: number[][] = [];
  for (let i = 0; i < n; i++) {
    const zc = rng.uniform(-1, 1);
    const a = rng.uniform(0, 2 * Math.PI);
    const rxy = Math.sqrt(1 - zc * zc);
    const r = rng.uniform(0.6, 1);
    pts.push([(r * rxy * Math.cos(a) * extents[0]) / 2, (r * rxy * Math.sin(a) * extents[1]) / 2, (r * zc * extents[2]) / 2]);
  }
  const lo = [0, 1, 2].map((d) => Math.min(...pts.map((p) => p[d])));
  const hi = [0, 1, 2].map((d) => Math.max(...pts.map((p) => p[d])));
  const points = Float32Array.from(pts.flatMap((p) => p.map((v, d) => v - (lo[d] + hi[d]) / 2)));
  return { points, size: hi.map((h, d) => h - lo[d]) };
}
