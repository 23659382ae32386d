import type { SceneDescription } from '../../src/core/frames.js';
import { Rng } from '../../src/core/rng.js';
import type { Rapier } from '../rapier.js';
import { HeightmapCamera, maxHeight } from '../sensors/heightmap.js';
import type { SimBackend } from '../task.js';
import { drawObjectSet, placedSlots, randomRotation, targetHalfExtents, wallPose, type ObjectSet, type PlacedObject, type SlotSpec } from './clutter.js';
import { describeTabletop, tabletopFrame } from './frames.js';
import type { ManipGeometry, ManipSetpoint, ManipState, ManipulationModel } from './model.js';
import { grasp, push, type HeightmapView } from './primitives.js';
import type { ManipulationScene } from './scene.js';
import { Tabletop } from './tabletop.js';

/**
 * The simulated half of the manipulation task: a Rapier table, seeded clutter and a
 * parallel-jaw gripper (tabletop.ts, clutter.ts, gripper.ts). Each `advance` runs one motion
 * primitive (primitives.ts) to completion at the physics rate (240 Hz), then the top-down
 * heightmap camera (sim/sensors/heightmap.ts) observes the result. This file is the episode:
 * how a reset drops the clutter and hides or shows the target, and the state it keeps.
 */
export class ManipulationBackend implements SimBackend<ManipState, ManipSetpoint> {
  /** The world of the current episode; rebuilt on every reset. */
  private table!: Tabletop;
  private s!: ManipState;
  private readonly camera: HeightmapCamera;
  private readonly h: number;
  readonly geometry: ManipGeometry;
  /** Physics steps run since construction (bench). */
  physicsSteps = 0;
  /** The scene's object set, drawn once from `clutter.shapeSeed`. */
  private readonly pool: ObjectSet;
  /** The slots of the current episode (the pool, or resetWith's objects). */
  private slots: SlotSpec[];

  constructor(
    private readonly R: Rapier,
    readonly scene: ManipulationScene,
    readonly model: ManipulationModel,
  ) {
    this.h = 1 / scene.physicsHz;
    this.geometry = model.geometry;
    this.camera = new HeightmapCamera(R, this.geometry);
    this.pool = drawObjectSet(scene, model.targetClass, new Rng(scene.clutter.shapeSeed));
    this.slots = [this.pool.target, ...this.pool.covers, ...this.pool.clutter, ...this.pool.walls];
    this.rebuild();
  }

  /** A fresh world: no contact or solver cache leaks from one episode into the next. */
  private rebuild(): void {
    this.table?.free();
    const g = this.geometry;
    this.table = new Tabletop(this.R, this.scene, [g.x0 + g.size / 2, g.y0 + g.size / 2], () => {
      this.physicsSteps++;
      if (this.s) this.s.simTime += this.h;
    });
  }

  reset(rng: Rng): ManipState {
    this.slots = [this.pool.target, ...this.pool.covers, ...this.pool.clutter, ...this.pool.walls];
    this.rebuild();
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
      this.table.addObject(pool.target, [pile[0] + r * Math.cos(a), pile[1] + r * Math.sin(a), z], randomRotation(rng, false));
    };
    let z = 0.005;
    const wedged = pool.walls.length > 0;
    // Wedged: the target stands on the table with the walls pressed against it; visible, the
    // clutter lands in a ring around the walls, hidden, on top of the covers as below.
    const ring = wedged ? this.placeWedged(rng, hidden ? 0.01 : 0, pile) : 0;
    if (wedged) z += Math.max(...pool.walls.map((w) => w.height)) + 0.01;
    else if (hidden) {
      dropTarget(pool.target.height / 2 + 0.001);
      z += pool.target.height + 0.01;
    }
    // Hidden: two covers straight over the target first, then the clutter on and around them.
    const drops = hidden ? [covers.shift()!, covers.shift()!, ...chosen] : chosen;
    const among = !hidden && !wedged && scene.target.placement === 'among' ? rng.int(drops.length) : -1;
    drops.forEach((spec, k) => {
      if (k === among) {
        dropTarget(z + pool.target.height / 2);
        z += pool.target.height + 0.005;
      }
      const cover = hidden && k < 2;
      const a = rng.uniform(0, 2 * Math.PI);
      const r = cover ? 0.008 * rng.next() : (hidden ? 0 : ring) + c.spawnRadius * Math.sqrt(rng.next());
      const tipped = !cover && rng.next() < c.tippedFraction;
      this.table.addObject(spec, [pile[0] + r * Math.cos(a), pile[1] + r * Math.sin(a), z + spec.height / 2], randomRotation(rng, tipped));
      z += spec.height + 0.005;
    });
    this.table.settle(scene.settleSeconds);
    this.s = this.freshState();
    this.observeWorld();
    if (among >= 0 && this.s.targetPixels === 0) {
      // Dropped among the clutter but buried: take it out and drop it on top instead.
      this.table.removeObject(this.table.target!);
      this.table.objects = this.table.objects.filter((o) => o !== this.table.target);
      this.observeWorld();
    }
    if (wedged && !hidden) this.uncoverTarget();
    if (!hidden && !wedged && (among < 0 || !this.table.objects.includes(this.table.target!))) {
      // Visible: dropped last, from just above the pile, so that it lands among the clutter.
      dropTarget(maxHeight(this.s.heightmap) + pool.target.height / 2 + 0.01);
      this.table.settle(0.6);
      this.observeWorld();
    }
    // The hidden case must really hide: add covers over the target until no pixel of it shows,
    // then the clutter objects this episode did not draw.
    const spares = [...covers, ...pool.clutter.filter((o) => !chosen.includes(o))];
    while (hidden && this.s.targetPixels > 0 && spares.length) {
      const tp = this.table.target!.body!.translation();
      const spec = spares.shift()!;
      this.table.addObject(spec, [tp.x, tp.y, maxHeight(this.s.heightmap) + spec.height / 2 + 0.01], randomRotation(rng, false));
      this.table.settle(0.6);
      this.observeWorld();
    }
    this.s.simTime = 0;
    this.s.hiddenAtStart = this.s.targetPixels === 0;
    return this.s;
  }

  /**
   * The target on the table within `jitter` m of `pile`, at a random yaw, and the walls pressed
   * against it (`target.wedge`). Returns the radius around the pile beyond which the rest of the
   * clutter of a visible episode lands.
   */
  private placeWedged(rng: Rng, jitter: number, pile: [number, number]): number {
    const { scene, pool } = this;
    const a = rng.uniform(0, 2 * Math.PI);
    const r = jitter * rng.next();
    const [x, y] = [pile[0] + r * Math.cos(a), pile[1] + r * Math.sin(a)];
    const psi = rng.uniform(0, 2 * Math.PI);
    const yawQ = (yaw: number) => ({ x: 0, y: 0, z: Math.sin(yaw / 2), w: Math.cos(yaw / 2) });
    this.table.addObject(pool.target, [x, y, pool.target.height / 2 + 0.001], yawQ(psi));
    pool.walls.forEach((w, k) => {
      const p = wallPose(scene, pool.wallThickness, k, x, y, psi);
      this.table.addObject(w, [p.position[0], p.position[1], w.height / 2 + 0.001], yawQ(p.yaw));
    });
    const [ha, hb] = targetHalfExtents(scene);
    return Math.hypot(ha, hb) + scene.target.wedge.gap + pool.wallThickness + scene.target.wedge.clutterOffset;
  }

  /** A visible wedged target that the clutter buried: take away what lies over it, topmost first, until some of it shows. */
  private uncoverTarget(): void {
    const t = this.table.target!.body!.translation();
    const [ha, hb] = targetHalfExtents(this.scene);
    const wallIds = new Set(this.pool.walls.map((w) => w.id));
    while (this.s.targetPixels === 0) {
      const over = this.table.objects
        .filter((o) => !o.isTarget && !wallIds.has(o.id) && o.body && Math.hypot(o.body.translation().x - t.x, o.body.translation().y - t.y) < ha + hb && o.body.translation().z > t.z)
        .sort((p, q) => q.body!.translation().z - p.body!.translation().z);
      if (!over.length) break;
      this.table.removeObject(over[0]);
      this.table.objects = this.table.objects.filter((o) => o !== over[0]);
      this.table.settle(0.3);
      this.observeWorld();
    }
  }

  /**
   * Start an episode with objects placed by hand (tests, benches): no random clutter. The
   * first object flagged `isTarget` is the target; there must be exactly one.
   */
  resetWith(placed: PlacedObject[], settleSeconds = 0.5): ManipState {
    this.rebuild();
    this.slots = placedSlots(this.scene, this.model.targetClass, placed);
    placed.forEach((o, k) => {
      const yaw = o.yaw ?? 0;
      this.table.addObject(this.slots[k], o.position, { x: 0, y: 0, z: Math.sin(yaw / 2), w: Math.cos(yaw / 2) });
    });
    if (!this.table.objects.some((o) => o.isTarget)) throw new Error('resetWith: one object must be the target');
    this.s = this.freshState();
    this.table.settle(settleSeconds);
    this.observeWorld();
    this.s.simTime = 0;
    this.s.hiddenAtStart = this.s.targetPixels === 0;
    return this.s;
  }

  /** Position of every object still in the scene, by name (tests, privileged controllers). */
  objectPositions(): { name: string; isTarget: boolean; position: [number, number, number] }[] {
    return this.table.objectPositions();
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

  /** The heightmap camera's capture of the world into the state (heightmap, colour classes, target mask), and the target's position. */
  observeWorld(): void {
    const { s, table } = this;
    s.targetPixels = this.camera.capture(table.world, table.classOf, this.model.targetClass, s);
    const tb = table.target?.body;
    if (tb) {
      const p = tb.translation();
      s.targetPosition = [p.x, p.y, p.z];
    }
  }

  advance(sp: ManipSetpoint, _dt: number): ManipState {
    const s = this.s;
    const view: HeightmapView = { heightmap: s.heightmap, grid: this.geometry };
    s.lastSetpoint = { ...sp };
    if (sp.primitive === 'push') {
      push(this.table, view, sp.x, sp.y, sp.theta);
      s.pushes++;
      s.motions++;
    } else if (sp.primitive === 'grasp') {
      const held = grasp(this.table, view, sp.x, sp.y, sp.theta);
      s.grasps++;
      s.motions++;
      s.lastGraspSuccess = held.length > 0;
      if (held.length > 0) {
        s.graspSuccesses++;
        s.consecutiveGraspFailures = 0;
      } else s.consecutiveGraspFailures++;
      if (held.some((o) => o.isTarget)) s.targetGrasped = true;
    } else {
      this.table.settle(0.05);
    }
    this.table.removeFallen();
    this.observeWorld();
    const tb = this.table.target!.body;
    if (tb && !s.targetGrasped) {
      const p = tb.translation();
      if (p.z < -0.02 || !this.geometry.inWorkspace(p.x, p.y)) s.targetLost = true;
    }
    return s;
  }

  describe(): SceneDescription {
    return describeTabletop(this.scene, this.geometry, this.slots, this.table);
  }

  frame(s: ManipState) {
    return tabletopFrame(this.scene, this.slots, this.table, s);
  }

  /** Bare Rapier stepping of the current world (bench). Returns seconds taken. */
  benchPhysics(steps: number): number {
    const world = this.table.world;
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) world.step();
    return (performance.now() - t0) / 1000;
  }

  close(): void {
    this.table?.free();
  }
}
