import type { Collider, EventQueue, Rapier, RigidBody, World } from '../rapier.js';
import type { BodyDescription, SceneDescription } from '../../src/core/frames.js';
import type { Rng } from '../../src/core/rng.js';
import type { SimBackend } from '../task.js';
import { buildStaticWorld } from '../world.js';
import { AssignmentSolver } from './allocation.js';
import { describeUav, uavFrame } from './view.js';
import { GRAVITY, PropulsionPower } from './energy.js';
import { hypot3 } from './hypot.js';
import type { UavModel, UavSetpoint, UavState } from './model.js';
import type { UavScene } from './scene.js';

/**
 * The simulated half of the UAV task: a Rapier world with ground, buildings and the UAV
 * as a dynamic body with mass and linear drag. Per physics step (100 Hz by default) it
 * runs a PX4-like velocity loop, integrates propulsion energy and collects data over the
 * blocks allocated at the start of each control slot.
 */
export class UavBackend implements SimBackend<UavState, UavSetpoint> {
  private world!: World;
  private body!: RigidBody;
  private collider!: Collider;
  private events!: EventQueue;
  private staticBodies: BodyDescription[] = [];
  private rng!: Rng;
  private windRng!: Rng;
  private fadingRng!: Rng;
  private s!: UavState;
  private readonly h: number;
  private readonly solver = new AssignmentSolver();
  // Velocity-loop integrator and the gust state, per axis.
  private readonly integ = new Float64Array(3);
  private readonly gust = new Float64Array(3);
  // Scratch for the velocity loop, so a physics step allocates nothing of its own.
  private readonly spv = new Float64Array(3);
  private readonly acc = new Float64Array(3);
  private readonly vel = new Float64Array(3);
  // Per-slot scratch: in-range devices and their weights, and the gains of each (device, block).
  private readonly snr1m: Float64Array;
  private readonly rbHz: Float64Array;
  private readonly gains: Float64Array;
  private weights: Float64Array;
  private readonly candidates: Int32Array;
  private readonly poses = new Float32Array(7);
  // Reused per physics step: the targets Rapier writes the body's translation and velocity into,
  // the force handed to it (a wasm-side vector: RigidBody.addForce would allocate, register with a
  // FinalizationRegistry and free one per call) and the collision callback, so a step makes no
  // object of its own.
  private readonly pos3 = { x: 0, y: 0, z: 0 };
  private readonly vel3 = { x: 0, y: 0, z: 0 };
  private readonly rawForce: ReturnType<Rapier['VectorOps']['intoRaw']>;
  private rawBodies!: World['bodies']['raw'];
  private readonly onCollision = (_h1: number, _h2: number, started: boolean): void => {
    if (started) this.s.crashed = true;
  };
  private readonly uavId: number;
  private readonly power: PropulsionPower;
  /** Rician fading: the LoS and scattered amplitudes of the scene's K factor. */
  private readonly rician: { los: number; nlos: number };
  /**
   * The world as built, before its first step, serialized once: every episode restores it, which
   * gives the same fresh world (episodes are bit-identical to building it anew) for less than
   * creating its bodies and colliders again through Rapier's JS API (README, env overhead).
   */
  private readonly pristine: Uint8Array;
  /** Reused for every restore: World.restoreSnapshot makes one per call and leaves it to the GC's finalizers. */
  private readonly serializer: InstanceType<Rapier['SerializationPipeline']>;
  private bodyHandle = -1;
  private colliderHandle = -1;
  /** Set to collect where step time goes (bench only): ms in physics, allocation, the rest. */
  profile: { physicsMs: number; allocationMs: number; totalMs: number } | null = null;

  constructor(
    private readonly R: Rapier,
    readonly scene: UavScene,
    readonly model: UavModel,
  ) {
    this.h = 1 / scene.physicsHz;
    const K = scene.devices.length;
    const M = scene.channel.resourceBlocksMHz.length;
    this.snr1m = Float64Array.from(scene.devices, (d) => model.channel.snrAt1m(d.txPowerW));
    this.rbHz = Float64Array.from(scene.channel.resourceBlocksMHz, (b) => b * 1e6);
    this.gains = new Float64Array(K * M).fill(1);
    this.weights = new Float64Array(K * M);
    this.candidates = new Int32Array(K);
    this.uavId = 1 + scene.obstacles.length + K;
    this.rawForce = R.VectorOps.intoRaw({ x: 0, y: 0, z: 0 });
    this.power = new PropulsionPower(scene.energy, scene.uav.mass);
    const kf = Math.pow(10, (scene.channel.ricianKDb ?? 0) / 10);
    this.rician = { los: Math.sqrt(kf / (kf + 1)), nlos: Math.sqrt(1 / (2 * (kf + 1))) };
    this.build();
    this.pristine = this.world.takeSnapshot();
    this.serializer = new R.SerializationPipeline();
    this.events = new R.EventQueue(true);
  }

  /** The world of the scene, built through Rapier's API (once per backend; episodes restore its snapshot). */
  private build(): void {
    const { R, scene } = this;
    const built = buildStaticWorld(R, {
      timestep: this.h,
      gravity: GRAVITY,
      groundSize: scene.area.size,
      boxes: scene.obstacles.map((o) => ({ name: o.name, center: o.center, size: o.size, color: o.color })),
    });
    this.world = built.world;
    this.staticBodies = built.bodies;
    const u = scene.uav;
    this.body = this.world.createRigidBody(
      R.RigidBodyDesc.dynamic()
        .setTranslation(...u.start)
        .lockRotations()
        .setLinearDamping(u.linearDrag)
        .setCanSleep(false),
    );
    this.collider = this.world.createCollider(
      R.ColliderDesc.ball(u.radius).setMass(u.mass).setActiveEvents(R.ActiveEvents.COLLISION_EVENTS),
      this.body,
    );
    this.bodyHandle = this.body.handle;
    this.colliderHandle = this.collider.handle;
    this.rawBodies = this.world.bodies.raw;
  }

  /** A fresh world per episode: no contact or solver cache can leak from one episode into the next. */
  private restore(): void {
    this.world.free();
    this.world = this.serializer.deserializeAll(this.pristine);
    this.body = this.world.getRigidBody(this.bodyHandle);
    this.collider = this.world.getCollider(this.colliderHandle);
    this.rawBodies = this.world.bodies.raw;
    this.events.clear();
  }

  reset(rng: Rng): UavState {
    this.rng = rng;
    this.windRng = rng.fork();
    this.fadingRng = rng.fork();
    this.restore();
    const { scene } = this;
    const u = scene.uav;
    const j = u.startJitter;
    const start: [number, number, number] = [
      u.start[0] + rng.uniform(-j, j),
      u.start[1] + rng.uniform(-j, j),
      Math.max(u.radius + 1, u.start[2] + rng.uniform(-j, j) * 0.2),
    ];
    this.body.setTranslation({ x: start[0], y: start[1], z: start[2] }, true);
    this.body.setLinvel({ x: 0, y: 0, z: 0 }, true);
    const dj = scene.dataJitter;
    const initialBits = scene.devices.map((d) => d.dataMbit * 1e6 * rng.uniform(1 - dj, 1 + dj));
    this.integ.fill(0);
    if (scene.wind) for (let a = 0; a < 3; a++) this.gust[a] = this.windRng.normal(0, scene.wind.gustStd);
    else this.gust.fill(0);
    this.s = {
      t: 0,
      pos: start,
      vel: [0, 0, 0],
      energyJ: 0,
      batteryJ: u.batteryKJ * 1000,
      remainingBits: initialBits.slice(),
      initialBits,
      slotBits: 0,
      slotEnergyJ: 0,
      distance: 0,
      crashed: false,
      outOfFence: false,
      allocation: new Array(scene.channel.resourceBlocksMHz.length).fill(-1),
    };
    return this.s;
  }

  state(): UavState {
    return this.s;
  }

  /**
   * Per-slot allocation (LLM-CRDT): over the devices in range that still hold data, give each
   * block to at most one device and each device at most one block, maximising the bits of
   * the slot, with w = min(r·δt, D). Exact, by assignment (the LP is totally unimodular).
   */
  private allocate(slotSeconds: number): void {
    const { scene, model, s } = this;
    const K = scene.devices.length;
    const M = this.rbHz.length;
    let N = 0;
    for (let k = 0; k < K; k++) {
      if (s.remainingBits[k] <= 0) continue;
      const d2 = this.dist2(k);
      if (this.snr1m[k] / d2 < model.channel.minSnr) continue;
      this.candidates[N++] = k;
    }
    if (scene.channel.ricianKDb !== undefined) this.drawFading(K, M, N);
    s.allocation.fill(-1);
    if (N === 0) return;
    if (this.weights.length < N * M) this.weights = new Float64Array(N * M);
    for (let i = 0; i < N; i++) {
      const k = this.candidates[i];
      const d2 = this.dist2(k);
      for (let m = 0; m < M; m++) {
        const bits = model.channel.rate(this.rbHz[m], this.snr1m[k], d2, this.gains[k * M + m]) * slotSeconds;
        this.weights[i * M + m] = Math.min(bits, s.remainingBits[k]);
      }
    }
    const result = this.solver.solve(this.weights, N, M);
    for (let m = 0; m < M; m++) {
      const i = result.deviceOfBlock[m];
      s.allocation[m] = i >= 0 ? this.candidates[i] : -1;
    }
  }

  /**
   * Rician small-scale fading power gain per (device, block), drawn once per slot for every device
   * (so that the stream does not depend on who is in range) and computed for the slot's N
   * candidates only: no other device's gain is read before the next slot draws it anew.
   */
  private drawFading(K: number, M: number, N: number): void {
    const { los, nlos } = this.rician;
    const rng = this.fadingRng;
    for (let k = 0, next = 0; k < K; k++) {
      if (next < N && this.candidates[next] === k) {
        next++;
        for (let i = k * M; i < (k + 1) * M; i++) {
          const re = los + nlos * rng.normal();
          const im = nlos * rng.normal();
          this.gains[i] = re * re + im * im;
        }
      } else rng.skipNormals(2 * M);
    }
  }

  private dist2(k: number): number {
    const d = this.model.devicePos[k];
    const p = this.s.pos;
    const dx = p[0] - d[0];
    const dy = p[1] - d[1];
    const dz = p[2] - d[2];
    return dx * dx + dy * dy + dz * dz;
  }

  advance(sp: UavSetpoint, dt: number): UavState {
    const { scene, s, h } = this;
    const u = scene.uav;
    const steps = Math.max(1, Math.round(dt / h));
    const prof = this.profile;
    const tStart = prof ? performance.now() : 0;
    this.allocate(steps * h);
    if (prof) prof.allocationMs += performance.now() - tStart;
    s.slotBits = 0;
    s.slotEnergyJ = 0;
    const M = this.rbHz.length;
    const kp = u.velocityGain;
    const ki = (kp * kp) / 4; // critically damped PI: with drag cancelled the plant is an integrator
    const c = u.linearDrag;
    const spv = this.spv;
    spv[0] = sp.vx;
    spv[1] = sp.vy;
    spv[2] = sp.vz;
    const a = this.acc;
    const vel = this.vel;
    const wind = scene.wind;
    const windRng = this.windRng;
    const gust = this.gust;
    // Gusts: an Ornstein-Uhlenbeck process per axis, so the wind is seeded and correlated in time.
    const theta = wind ? h / wind.gustTau : 0;
    const sig = wind ? wind.gustStd * Math.sqrt(2 * theta) : 0;
    const mc = u.mass * c;
    const power = this.power;
    const fence = this.model.limits.geofence!;
    // The velocity after one Rapier step is the velocity before the next: read it once per step.
    const { body, world, events, pos3: p, vel3: nv, rawForce, rawBodies } = this;
    const handle = body.handle;
    body.linvel(nv);
    vel[0] = nv.x;
    vel[1] = nv.y;
    vel[2] = nv.z;
    for (let i = 0; i < steps; i++) {
      // PX4-like velocity loop: PI on the velocity error gives a kinematic acceleration,
      // limited to maxAccel; thrust also cancels the modelled drag, so the UAV's net
      // acceleration is the limited one. Integrate only when not saturated (anti-windup).
      let an = 0;
      for (let ax = 0; ax < 3; ax++) {
        const err = spv[ax] - vel[ax];
        a[ax] = kp * err + ki * this.integ[ax];
        an += a[ax] * a[ax];
      }
      an = Math.sqrt(an);
      const saturated = an > u.maxAccel;
      for (let ax = 0; ax < 3; ax++) {
        if (saturated) a[ax] *= u.maxAccel / an;
        else this.integ[ax] += (spv[ax] - vel[ax]) * h;
        a[ax] += c * vel[ax];
      }
      let fx = u.mass * a[0];
      let fy = u.mass * a[1];
      let fz = u.mass * (a[2] + GRAVITY);
      if (wind) {
        for (let ax = 0; ax < 3; ax++) gust[ax] += -theta * gust[ax] + sig * windRng.normal();
        // Drag acts on the air-relative velocity: Rapier's damping covers −m·c·v, the wind adds +m·c·w.
        fx += mc * (wind.mean[0] + gust[0]);
        fy += mc * (wind.mean[1] + gust[1]);
        fz += mc * (wind.mean[2] + gust[2] * 0.3);
      }
      // Per physics step Rapier is called for: the force (3 components, reset, add: what
      // body.resetForces + body.addForce do, on the same f32 values), the step, the translation
      // and velocity (into reused targets), the collision events.
      rawForce.x = fx;
      rawForce.y = fy;
      rawForce.z = fz;
      rawBodies.rbResetForces(handle, false);
      rawBodies.rbAddForce(handle, rawForce, true);
      if (prof) {
        const t0 = performance.now();
        world.step(events);
        prof.physicsMs += performance.now() - t0;
      } else world.step(events);

      body.translation(p);
      body.linvel(nv);
      vel[0] = nv.x;
      vel[1] = nv.y;
      vel[2] = nv.z;
      s.distance += hypot3(p.x - s.pos[0], p.y - s.pos[1], p.z - s.pos[2]);
      s.pos[0] = p.x;
      s.pos[1] = p.y;
      s.pos[2] = p.z;
      s.t += h;
      const e = power.atVelocity(nv.x, nv.y, nv.z) * h;
      s.energyJ += e;
      s.slotEnergyJ += e;
      for (let m = 0; m < M; m++) {
        const k = s.allocation[m];
        if (k < 0 || s.remainingBits[k] <= 0) continue;
        const r = this.model.channel.rate(this.rbHz[m], this.snr1m[k], this.dist2(k), this.gains[k * M + m]);
        const bits = Math.min(s.remainingBits[k], r * h);
        s.remainingBits[k] -= bits;
        s.slotBits += bits;
      }
      events.drainCollisionEvents(this.onCollision);
      if (p.x < fence[0] || p.y < fence[1] || p.x > fence[3] || p.y > fence[4] || p.z > fence[5]) s.outOfFence = true;
      if (s.crashed || s.outOfFence || s.energyJ >= s.batteryJ) break;
    }
    s.vel = [vel[0], vel[1], vel[2]];
    if (prof) prof.totalMs += performance.now() - tStart;
    return s;
  }

  /**
   * Bare Rapier stepping of this same world (the UAV held up by a constant hover force),
   * for the benchmark that compares env speed with raw physics. Returns seconds taken.
   */
  benchPhysics(steps: number): number {
    this.body.resetForces(false);
    this.body.addForce({ x: 0, y: 0, z: this.scene.uav.mass * GRAVITY }, true);
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) {
      this.world.step(this.events);
      this.events.drainCollisionEvents(() => {});
    }
    return (performance.now() - t0) / 1000;
  }

  describe(): SceneDescription {
    return describeUav(this.scene, this.model, this.staticBodies, this.uavId);
  }

  frame(s: UavState) {
    return uavFrame(this.model, s, this.uavId, this.poses);
  }

  close(): void {
    this.world?.free();
    this.events?.free();
    this.serializer.free();
    this.rawForce.free();
  }
}
