import { z } from 'zod';
import { checker, checkInsideArea, checkRates, color, fraction, nonNegNum, num, posInt, posNum, posNumUpTo, sceneBase } from '../scene.js';

/**
 * The indoor navigation scene (after FantasyHSI's navigator / planner / critic agents).
 * Units: metres, seconds, radians, kilograms. The floor is [0, Lx] × [0, Ly], z up.
 */
const xy = () => z.tuple([num(), num()], { error: 'expected [x, y]' });

const door = z.strictObject({
  /** Place name of the door; defaults to "door-N" numbered over the whole scene from 1. */
  name: z.string().optional(),
  /** Distance of the door's centre from the wall's `from` end, m. */
  at: posNum(),
  width: posNum().default(0.9),
});

/** An axis-aligned wall from one end to the other, with door gaps. */
const wall = z.strictObject({
  from: xy(),
  to: xy(),
  doors: z.array(door).default([]),
});

const furniture = z.strictObject({
  name: z.string().min(1),
  center: xy(),
  /** Full extents [sx, sy, sz], axis-aligned. */
  size: z.tuple([posNum(), posNum(), posNum()], { error: 'expected [sx, sy, sz]' }),
  /** A movable piece is a dynamic body the robot can push; the map still holds its scene position. */
  movable: z.boolean().default(false),
  mass: posNum().default(15),
  color: color().default('#a0785a'),
});

const place = z.strictObject({ name: z.string().min(1), position: xy() });

const robot = z
  .strictObject({
    radius: posNumUpTo(5, 'm').default(0.2),
    height: posNumUpTo(5, 'm').default(0.3),
    mass: posNumUpTo(1000, 'kg').default(10),
    /** Max forward speed (|v|), m/s, and max turn rate (|ω|), rad/s (limits: far above any indoor robot). */
    maxSpeed: posNumUpTo(10, 'm/s').default(0.8),
    maxTurnRate: posNumUpTo(50, 'rad/s').default(2.0),
    /** Limits of the wheel controller's tracking, m/s² and rad/s². */
    maxAccel: posNum().default(2.0),
    maxAngularAccel: posNum().default(6.0),
    /** Gain of the wheel-speed loop, 1/s: F = m·k·(v* − v), τ = I·k·(ω* − ω). */
    trackingGain: posNum().default(12),
    /** Tyre friction coefficient: the traction force is capped at μ·m·g; above it the wheels slip. */
    friction: posNum().default(0.7),
  })
  .prefault({});

const lidar = z
  .strictObject({
    rays: posInt().max(4096, 'expected at most 4096 rays').default(32),
    maxRange: posNumUpTo(1000, 'm').default(5),
    /** Height of the scan plane above the floor, m. */
    height: posNum().default(0.15),
    /** Std of the Gaussian range noise, m. */
    noiseStd: nonNegNum().default(0),
  })
  .prefault({});

/** Actuation noise: the drift the critic must correct. All draws are seeded. */
export const actuationNoise = z
  .strictObject({
    /** Fraction of the commanded speeds lost to wheel slip: each second a slip s ∈ U[0, slip] is drawn. */
    slip: fraction().default(0),
    /** Per-episode bias: speed scale 1 + N(0, speedBias), and a turn-rate offset N(0, turnBias) rad/s. */
    speedBias: nonNegNum().default(0),
    turnBias: nonNegNum().default(0),
    /** Command delay, s (held in a queue at the physics rate). */
    delay: nonNegNum().default(0),
  })
  .prefault({});

/** Thresholds for the closed-loop critic (controllers/planning/critic.ts). */
const critic = z
  .strictObject({
    /** Checks per second, besides the one after each atomic action. */
    rateHz: posNum().default(2),
    /** Cross-track error past which a corrective node (back to the path) is inserted, m. */
    correctCrossTrack: posNum().default(0.2),
    /** Cross-track error past which the navigator replans from the current pose, m. */
    replanCrossTrack: posNum().default(0.45),
    /** Heading error (robot vs path tangent) past which a turn-to node is inserted, rad. */
    headingError: posNum().default(1.2),
    /** No progress along the path (less than minProgress m) for this long → replan, s. */
    stallSeconds: posNum().default(3),
    minProgress: posNum().default(0.1),
  })
  .prefault({});

const goals = z
  .strictObject({
    /** Goals per task ("kitchen, then sofa, then door-2"). */
    count: posInt().default(3),
    /** Where goals are drawn from: named places, or random free points (for training waypoint reaching). */
    mode: z.enum(['places', 'random']).default('places'),
    /** Places goals are drawn from (default: all). */
    from: z.array(z.string()).optional(),
    /** Places a task may start at (default: all). */
    start: z.array(z.string()).optional(),
    /** Random mode: the goal lies this far from the previous one, m. */
    minDistance: posNum().default(0.8),
    maxDistance: posNum().default(3),
    /** Start position jitter, m. */
    startJitter: nonNegNum().default(0.15),
  })
  .prefault({});

const reward = z
  .strictObject({
    /** Per metre of progress towards the current goal. */
    progress: posNum().default(1),
    goalBonus: nonNegNum().default(2),
    collisionPenalty: nonNegNum().default(0.5),
    /** Per second. */
    timePenalty: nonNegNum().default(0.01),
  })
  .prefault({});

export const navSceneSchema = z.strictObject({
  ...sceneBase,
  task: z.literal('navigation'),
  area: z.strictObject({ size: z.tuple([posNumUpTo(10_000, 'm'), posNumUpTo(10_000, 'm')], { error: 'expected [Lx, Ly]' }) }),
  physicsHz: posNumUpTo(10_000, 'Hz').default(60),
  controlHz: posNum().default(10),
  maxEpisodeSteps: posInt().default(1200),
  walls: z
    .strictObject({
      height: posNum().default(1),
      thickness: posNum().default(0.1),
      color: color().default('#c9c4b8'),
      segments: z.array(wall).default([]),
    })
    .prefault({}),
  furniture: z.array(furniture).default([]),
  places: z.array(place).default([]),
  robot,
  lidar,
  noise: actuationNoise,
  goals,
  /**
   * "full": lidar, goal, speeds, pose, goal index (what the planning agents read); "waypoint":
   * only the low-level part (lidar, goal in the robot frame, speeds), for training a
   * waypoint-reaching policy that does not depend on where it is in the map.
   */
  observation: z.enum(['full', 'waypoint']).default('full'),
  /** A goal counts as reached within this distance, m. */
  goalRadius: posNum().default(0.3),
  /** Grid resolution of the map (navigator and SPL's shortest path), m. */
  mapResolution: posNum().default(0.05),
  critic,
  reward,
}).superRefine((s, ctx) => {
  const check = checker(ctx);
  checkRates(check, s);
  const size = s.area.size;
  const half = Math.min(...size) / 2;
  check(s.robot.radius < half, ['robot', 'radius'], `expected less than half the area's side (${half} m)`);
  check(s.goalRadius < half, ['goalRadius'], `expected less than half the area's side (${half} m)`);
  check(s.mapResolution < half, ['mapResolution'], `expected less than half the area's side (${half} m)`);
  check(s.goals.minDistance <= s.goals.maxDistance, ['goals', 'minDistance'], `expected at most goals.maxDistance (${s.goals.maxDistance})`);
  s.places.forEach((p, i) => checkInsideArea(check, ['places', i, 'position'], p.position, size));
  s.furniture.forEach((f, i) => checkInsideArea(check, ['furniture', i, 'center'], f.center, size));
  s.walls.segments.forEach((w, i) => {
    checkInsideArea(check, ['walls', 'segments', i, 'from'], w.from, size);
    checkInsideArea(check, ['walls', 'segments', i, 'to'], w.to, size);
  });
});

export type NavScene = z.infer<typeof navSceneSchema>;
export type ActuationNoise = NavScene['noise'];
