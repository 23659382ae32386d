import type { Collider, EventQueue, Rapier, RigidBody, World } from '../rapier.js';
import type { BodyDescription, SceneDescription } from '../../src/core/frames.js';
import type { Rng } from '../../src/core/rng.js';
import type { SimBackend } from '../task.js';
import { LidarRing } from '../sensors/lidar.js';
import { buildStaticWorld } from '../world.js';
import { wrapAngle, type NavModel, type NavSetpoint, type NavState } from './model.js';
import type { NavScene } from './scene.js';

const GRAVITY = 9.81;
/** Executed-path samples closer than this are merged, m. */
const TRAIL_STEP = 0.1;

/**
 * The simulated half of the navigation task: a Rapier world of walls, furniture (static
 * boxes, and dynamic ones for movable pieces) and a differential-drive robot — a dynamic
 * cylinder with mass, held in the floor plane, driven by traction forces. At the physics
 * rate a wheel-speed loop tracks the (v, ω) setpoint through the actuation noise (delay,
 * bias, slip), with the tyre force capped at μ·m·g; a 2-D lidar ring of ray casts senses
 * the world after each control step.
 */
export class NavBackend implements SimBackend<NavState, NavSetpoint> {
  private world!: World;
  private body!: RigidBody;
  private collider!: Collider;
  private events!: EventQueue;
  private movable: RigidBody[] = [];
  private staticBodies: BodyDescription[] = [];
  private s!: NavState;
  private noiseRng!: Rng;
  private lidarRng!: Rng;
  private readonly h: number;
  // Actuation noise of the episode: speed scale, turn-rate offset, the slip now and when it is redrawn.
  private speedScale = 1;
  private turnOffset = 0;
  private slip = 0;
  private slipUntil = 0;
  // Command delay line at the physics rate.
  private delayV: Float64Array;
  private delayW: Float64Array;
  private delayHead = 0;
  private contacts = 0;
  private trail: [number, number][] = [];
  private readonly robotId: number;
  private readonly movableIds: number[] = [];
  private readonly lidar: LidarRing;

  constructor(
    private readonly R: Rapier,
    readonly scene: NavScene,
    readonly model: NavModel,
  ) {
    this.h = 1 / scene.physicsHz;
    const n = Math.max(1, Math.round(scene.noise.delay / this.h) + 1);
    this.delayV = new Float64Array(n);
    this.delayW = new Float64Array(n);
    const staticCount = 1 + model.layout.walls.length + scene.furniture.filter((f) => !f.movable).length;
    scene.furniture.forEach((f, k) => {
      if (f.movable) this.movableIds.push(staticCount + this.movableIds.length);
      void k;
    });
    this.robotId = staticCount + this.movableIds.length;
    this.lidar = new LidarRing(R, scene.lidar, (k) => model.rayAngle(k));
    this.build();
  }

  /** A fresh world per episode: no contact or solver cache leaks from one episode into the next. */
  private build(): void {
    if (this.world) this.world.free();
    const { R, scene, model } = this;
    const wh = scene.walls.height;
    const boxes = [
      ...model.layout.walls.map((w) => ({ name: w.name, center: [w.center[0], w.center[1], wh / 2] as [number, number, number], size: [w.size[0], w.size[1], wh] as [number, number, number], color: scene.walls.color })),
      ...scene.furniture
        .filter((f) => !f.movable)
        .map((f) => ({ name: f.name, center: [f.center[0], f.center[1], f.size[2] / 2] as [number, number, number], size: f.size, color: f.color })),
    ];
    const built = buildStaticWorld(R, { timestep: this.h, gravity: GRAVITY, groundSize: scene.area.size, groundColor: '#6b6358', boxes });
    this.world = built.world;
    this.staticBodies = built.bodies.map((b, i) => ({ ...b, role: i === 0 ? 'ground' : i <= model.layout.walls.length ? 'wall' : 'furniture' }));
    this.movable = scene.furniture
      .filter((f) => f.movable)
      .map((f) => {
        // Furniture slides and turns on the floor but does not tip: a toppled box could wedge the planar robot.
        const b = this.world.createRigidBody(
          R.RigidBodyDesc.dynamic().setTranslation(f.center[0], f.center[1], f.size[2] / 2 + 0.001).enabledRotations(false, false, true).setCcdEnabled(true).setCanSleep(false),
        );
        this.world.createCollider(R.ColliderDesc.cuboid(f.size[0] / 2, f.size[1] / 2, f.size[2] / 2).setMass(f.mass).setFriction(0.5), b);
        return b;
      });
    const r = scene.robot;
    // Held in the plane (no z motion, no roll or pitch) just above the floor: traction is modelled, not floor contact.
    this.body = this.world.createRigidBody(
      R.RigidBodyDesc.dynamic()
        .setTranslation(0, 0, r.height / 2 + 0.01)
        .enabledTranslations(true, true, false)
        .enabledRotations(false, false, true)
        .setGravityScale(0)
        .setCcdEnabled(true)
        .setCanSleep(false),
    );
    // Rapier's cylinder axis is y; turn it to z.
    const q = Math.SQRT1_2;
    this.collider = this.world.createCollider(
      R.ColliderDesc.cylinder(r.height / 2, r.radius)
        .setRotation({ x: q, y: 0, z: 0, w: q })
        .setMass(r.mass)
        .setFriction(0.3)
        .setActiveEvents(R.ActiveEvents.COLLISION_EVENTS),
      this.body,
    );
    this.events ??= new R.EventQueue(true);
    this.events.clear();
  }

  reset(rng: Rng): NavState {
    const taskRng = rng.fork();
    this.noiseRng = rng.fork();
    this.lidarRng = rng.fork();
    this.build();
    const { scene, model } = this;
    const task = model.drawTask(taskRng);
    const [x, y, th] = task.start;
    this.body.setTranslation({ x, y, z: scene.robot.height / 2 + 0.01 }, true);
    this.body.setRotation({ x: 0, y: 0, z: Math.sin(th / 2), w: Math.cos(th / 2) }, true);
    const n = scene.noise;
    this.speedScale = 1 + this.noiseRng.normal(0, n.speedBias);
    this.turnOffset = this.noiseRng.normal(0, n.turnBias);
    this.slip = 0;
    this.slipUntil = 0;
    this.delayV.fill(0);
    this.delayW.fill(0);
    this.delayHead = 0;
    this.contacts = 0;
    model.annotations = null;
    // One step at rest puts the colliders into the query structures the lidar casts against.
    this.world.step(this.events);
    this.events.drainCollisionEvents(() => {});
    this.s = {
      t: 0,
      pose: [x, y, th],
      vel: [0, 0],
      lidar: new Float32Array(scene.lidar.rays),
      goals: task.goals,
      goalNames: task.goalNames,
      goalIndex: 0,
      shortestPath: task.shortestPath,
      distance: 0,
      collisions: 0,
      outOfBounds: false,
    };
    this.trail = [[x, y]];
    this.scan();
    return this.s;
  }

  state(): NavState {
    return this.s;
  }

  advance(sp: NavSetpoint, dt: number): NavState {
    const { scene, s, h } = this;
    const r = scene.robot;
    const noise = scene.noise;
    const steps = Math.max(1, Math.round(dt / h));
    const inertia = 0.5 * r.mass * r.radius * r.radius;
    const maxTraction = r.friction * r.mass * GRAVITY;
    const k = r.trackingGain;
    const nDelay = this.delayV.length;
    const robotHandle = this.collider.handle;
    for (let i = 0; i < steps; i++) {
      // Delay line: write the setpoint now, read the one from `delay` seconds ago.
      this.delayV[this.delayHead] = sp.v;
      this.delayW[this.delayHead] = sp.omega;
      const read = (this.delayHead + 1) % nDelay;
      this.delayHead = read;
      let vCmd = this.delayV[read];
      let wCmd = this.delayW[read];
      if (noise.slip > 0 && s.t >= this.slipUntil) {
        this.slip = this.noiseRng.uniform(0, noise.slip);
        this.slipUntil = s.t + 1;
      }
      vCmd *= this.speedScale * (1 - this.slip);
      wCmd = wCmd * (1 - this.slip) + (wCmd !== 0 || vCmd !== 0 ? this.turnOffset : 0);
      // Wheel-speed loop: accelerations towards the command, limited; the tyres also cancel sideways slide.
      const rot = this.body.rotation();
      const th = 2 * Math.atan2(rot.z, rot.w);
      const c = Math.cos(th);
      const sn = Math.sin(th);
      const lv = this.body.linvel();
      const vf = lv.x * c + lv.y * sn;
      const vl = -lv.x * sn + lv.y * c;
      const w = this.body.angvel().z;
      const af = Math.max(-r.maxAccel, Math.min(r.maxAccel, k * (vCmd - vf)));
      let ff = r.mass * af;
      let fl = -r.mass * k * vl;
      const ft = Math.hypot(ff, fl);
      if (ft > maxTraction) {
        ff *= maxTraction / ft;
        fl *= maxTraction / ft;
      }
      const aw = Math.max(-r.maxAngularAccel, Math.min(r.maxAngularAccel, k * (wCmd - w)));
      this.body.resetForces(false);
      this.body.resetTorques(false);
      this.body.addForce({ x: ff * c - fl * sn, y: ff * sn + fl * c, z: 0 }, true);
      this.body.addTorque({ x: 0, y: 0, z: inertia * aw }, true);
      this.world.step(this.events);
      this.events.drainCollisionEvents((h1, h2, started) => {
        if (h1 !== robotHandle && h2 !== robotHandle) return;
        if (started) {
          // A collision is a contact that starts while the robot touches nothing else.
          if (this.contacts === 0) s.collisions++;
          this.contacts++;
        } else this.contacts = Math.max(0, this.contacts - 1);
      });
      // The wheels stand on the floor: ground friction stops a contact impulse from leaving the
      // robot spinning or sliding far faster than it can drive (the floor contact is not simulated).
      const wz = this.body.angvel().z;
      if (Math.abs(wz) > 1.5 * r.maxTurnRate) this.body.setAngvel({ x: 0, y: 0, z: Math.sign(wz) * 1.5 * r.maxTurnRate }, true);
      const v2 = this.body.linvel();
      const speed = Math.hypot(v2.x, v2.y);
      if (speed > 1.5 * r.maxSpeed) this.body.setLinvel({ x: (v2.x * 1.5 * r.maxSpeed) / speed, y: (v2.y * 1.5 * r.maxSpeed) / speed, z: 0 }, true);
      const p = this.body.translation();
      s.distance += Math.hypot(p.x - s.pose[0], p.y - s.pose[1]);
      s.pose[0] = p.x;
      s.pose[1] = p.y;
      const r2 = this.body.rotation();
      s.pose[2] = wrapAngle(2 * Math.atan2(r2.z, r2.w));
      s.t += h;
      if (s.pose[0] < 0 || s.pose[1] < 0 || s.pose[0] > scene.area.size[0] || s.pose[1] > scene.area.size[1]) {
        s.outOfBounds = true;
        break;
      }
    }
    const lv = this.body.linvel();
    s.vel[0] = lv.x * Math.cos(s.pose[2]) + lv.y * Math.sin(s.pose[2]);
    s.vel[1] = this.body.angvel().z;
    const last = this.trail[this.trail.length - 1];
    if (Math.hypot(s.pose[0] - last[0], s.pose[1] - last[1]) >= TRAIL_STEP) this.trail.push([s.pose[0], s.pose[1]]);
    this.scan();
    this.model.updateGoal(s);
    return s;
  }

  /** The lidar ring from the robot's pose, the robot itself excluded. */
  private scan(): void {
    this.lidar.scan(this.world, this.s.pose, this.s.lidar, this.lidarRng, this.body);
  }

  describe(): SceneDescription {
    const { scene, model } = this;
    const movable = scene.furniture.filter((f) => f.movable);
    const movBodies: BodyDescription[] = movable.map((f, k) => ({
      id: this.movableIds[k],
      name: f.name,
      shape: 'box',
      size: [...f.size],
      color: f.color,
      pose: [f.center[0], f.center[1], f.size[2] / 2, 0, 0, 0, 1],
      dynamic: true,
      role: 'furniture',
    }));
    const r = scene.robot;
    const robot: BodyDescription = {
      id: this.robotId,
      name: 'robot',
      shape: 'cylinder',
      size: [r.radius, r.height],
      color: '#4a90d9',
      pose: [0, 0, r.height / 2 + 0.01, 0, 0, 0, 1],
      dynamic: true,
      role: 'robot',
    };
    return {
      scene: scene.name,
      task: 'navigation',
      bounds: [0, 0, 0, scene.area.size[0], scene.area.size[1], scene.walls.height],
      bodies: [...this.staticBodies, ...movBodies, robot],
      overlay: {
        places: [...model.layout.places].map(([name, position]) => ({ name, position })),
        goalRadius: scene.goalRadius,
        lidarRays: scene.lidar.rays,
      },
    };
  }

  frame(s: NavState) {
    const ids = [...this.movableIds, this.robotId];
    const poses = new Float32Array(7 * ids.length);
    this.movable.forEach((b, k) => {
      const p = b.translation();
      const q = b.rotation();
      poses.set([p.x, p.y, p.z, q.x, q.y, q.z, q.w], 7 * k);
    });
    const th = s.pose[2];
    poses.set([s.pose[0], s.pose[1], this.scene.robot.height / 2 + 0.01, 0, 0, Math.sin(th / 2), Math.cos(th / 2)], 7 * this.movable.length);
    const a = this.model.annotations;
    return {
      poses,
      bodyIds: ids,
      hud: {
        goalsReached: s.goalIndex,
        goals: s.goals.length,
        collisions: s.collisions,
        speed: s.vel[0],
        distanceM: s.distance,
        ...(a?.stats ?? {}),
      },
      overlay: {
        goals: s.goals,
        goalNames: s.goalNames,
        goalIndex: s.goalIndex,
        executedPath: this.trail.slice(),
        plannedPath: a?.plannedPath ?? [],
        waypoint: a?.waypoint ?? null,
        events: a?.events.slice(-20) ?? [],
        lidarHits: this.lidar.hits(this.s.pose, this.s.lidar),
      },
    };
  }

  close(): void {
    this.world?.free();
    this.events?.free();
  }
}
