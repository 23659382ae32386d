import { z } from 'zod';
import { checker, color, fraction, nonNegNum, num, posInt, posNum, posNumUpTo, sceneBase } from '../scene.js';

/**
 * The manipulation scene (after Yang et al., "A Deep Learning Approach to Grasping the
 * Invisible"). Units: metres, seconds, kilograms. The table top is z = 0 and the workspace
 * is a square centred on `workspace.center`. Defaults follow the paper where it gives them,
 * with the heightmap at 7 mm/px (64 px over 0.448 m) instead of the paper's 2 mm/px.
 */
const range = (lo: number, hi: number) =>
  z
    .tuple([posNum(), posNum()], { error: 'expected [min, max]' })
    .default([lo, hi])
    .refine((r) => r[0] <= r[1], 'expected min <= max');

const clutter = z
  .strictObject({
    /** Number of clutter objects per reset, drawn uniformly in [min, max]. */
    count: z.tuple([posInt().max(200, 'expected at most 200 objects'), posInt().max(200, 'expected at most 200 objects')], { error: 'expected [min, max]' }).default([6, 9]),
    /** Fraction of clutter objects that are cylinders. */
    cylinderFraction: fraction().default(0.4),
    /** Fraction that are irregular convex hulls (Rapier convexHull of random points); the rest are boxes. */
    hullFraction: fraction().default(0),
    /** Hull bounding extents, m, and the number of random points each hull is built from. */
    hullSize: range(0.03, 0.06),
    hullPoints: posInt().min(4, 'expected at least 4 points').max(64, 'expected at most 64 points').default(10),
    /** Box side lengths, m. */
    boxSize: range(0.025, 0.05),
    /** Cylinder radius and height, m. */
    cylinderRadius: range(0.015, 0.025),
    cylinderHeight: range(0.03, 0.055),
    /** Objects are dropped within this radius of a random pile centre, m (so they touch and stack). */
    spawnRadius: posNum().default(0.07),
    /** The pile centre is drawn within this radius of the workspace centre, m. */
    centerJitter: nonNegNum().default(0.06),
    /** Fraction of objects dropped lying on a side (random roll/pitch) rather than upright. */
    tippedFraction: fraction().default(0.3),
    density: posNum().default(600),
    friction: posNum().default(0.7),
    /** Clutter colours; each is one colour class (1..n). The target's colour is class n + 1. */
    /** Seed of the scene's object set (shapes, sizes, colours); each episode draws a subset of it in random poses. */
    shapeSeed: z.number().int('expected an integer').default(0),
    colors: z.array(color()).min(1).default(['#4a90d9', '#7ed321', '#f5a623', '#9b59b6', '#50e3c2', '#b0b0b0']),
  })
  .prefault({});

const target = z
  .strictObject({
    shape: z.enum(['box', 'cylinder']).default('box'),
    /** box: [sx, sy, sz]; cylinder: [radius, height]. */
    size: z.array(posNum()).min(2).max(3).default([0.035, 0.035, 0.025]),
    color: color().default('#e0245e'),
    /**
     * When the target starts visible: 'top' drops it last, onto the pile; 'among' drops it at a
     * random place in the pile's drop order, so that clutter leans on it and hides part of it
     * (if it ends fully hidden, it is dropped again on top).
     */
    placement: z.enum(['top', 'among']).default('top'),
    /**
     * Walls pressed against the target (a target wedged in a tight pile, the case where a direct
     * grasp fails and a push must singulate it first, as in VPG, Zeng et al. 2018): `count` boxes
     * (0..4; 2 cover the long sides, 4 enclose it pinwheel-wise) placed `gap` m from its faces, of
     * `thickness` (wider than a finger's landing spot, so no grasp of the target finds room) and
     * `height` m, `densityFactor` × the clutter's density. The rest of the clutter is dropped
     * around them. 0: no walls (the target is placed by `placement`).
     */
    wedge: z
      .strictObject({
        count: z.number().int('expected an integer').min(0).max(4, 'expected at most 4 walls').default(0),
        thickness: range(0.025, 0.035),
        height: range(0.03, 0.045),
        gap: nonNegNum().default(0.001),
        densityFactor: posNum().default(1),
        /** The rest of the clutter lands this far (m) beyond the walls' outer faces, plus spawnRadius·√u. */
        clutterOffset: nonNegNum().default(0.01),
      })
      .prefault({}),
  })
  .prefault({});

const gripper = z
  .strictObject({
    /** Inner gap between the fingers when open, m. */
    openWidth: posNum().default(0.1),
    /** Finger box: thickness (along the closing axis), width, length (vertical), m. */
    fingerThickness: posNum().default(0.01),
    fingerWidth: posNum().default(0.02),
    fingerLength: posNum().default(0.05),
    friction: posNum().default(1.0),
    /** Descent / lift speed, closing speed of each finger, push speed, m/s (limit: far above any arm). */
    speed: posNumUpTo(10, 'm/s').default(0.3),
    closeSpeed: posNumUpTo(10, 'm/s').default(0.1),
    pushSpeed: posNumUpTo(10, 'm/s').default(0.15),
    /** Fingers close until objects press this deep into both pads (our stand-in for a grip-force threshold), m. */
    squeeze: nonNegNum().default(0.0015),
    /** Height of the finger tips above the table after a grasp's lift, m. */
    liftHeight: posNum().default(0.15),
    /** An object counts as grasped when it is this much above the table after the lift, m. */
    heldHeight: posNum().default(0.07),
    /** Grasp: the pad centre goes to local height − graspDepth, never below table + graspFloor (paper: 4 cm, 2 cm). */
    graspDepth: nonNegNum().default(0.04),
    graspFloor: nonNegNum().default(0.02),
    /** Push: tool centre at local max height (±pushWindow) + pushClearance; the finger tips are pushTipOffset below it (paper: 1 cm, 1.5 cm). */
    pushWindow: nonNegNum().default(0.01),
    pushClearance: nonNegNum().default(0.015),
    pushTipOffset: nonNegNum().default(0.015),
    /** Grasp: the descent stops where a finger tip lands on an object (a real arm's collision stop); false: the kinematic fingers plough through. */
    descentStops: z.boolean().default(false),
    /** Push length along θ, m (paper: 10 cm). */
    pushLength: posNum().default(0.1),
  })
  .prefault({});

const reward = z
  .strictObject({
    pushTargetOriented: num().default(0.25),
    pushFreesMargin: num().default(0.5),
    graspOnTarget: num().default(0.5),
    graspTarget: num().default(1.0),
    /** Push line must cross the target by more than this, m (paper: 5 px at 2 mm = 1 cm). */
    crossLength: posNum().default(0.01),
    /** Ring around the target whose occupancy is the margin, m (paper: 10 px at 2 mm = 2 cm). */
    marginWidth: posNum().default(0.02),
    /** Occupancy of the margin must fall by more than this (paper: 0.1). */
    marginDrop: fraction().default(0.1),
    /** A margin pixel is occupied when its height is above this, m. */
    occupiedHeight: posNum().default(0.01),
  })
  .prefault({});

export const manipulationSceneSchema = z.strictObject({
  ...sceneBase,
  task: z.literal('manipulation'),
  workspace: z
    .strictObject({
      /** Side of the square workspace, m (paper: 0.448). */
      size: posNumUpTo(10, 'm').default(0.448),
      center: z.tuple([num(), num()], { error: 'expected [x, y]' }).default([0, 0]),
      /** The table extends this far past the workspace on each side, m. */
      tableMargin: nonNegNum().default(0.12),
      tableColor: color().default('#8b6b4a'),
    })
    .prefault({}),
  /** Heightmap side in pixels (square); the resolution is workspace.size / pixels. */
  heightmap: z.strictObject({ pixels: posInt().max(1024, 'expected at most 1024 pixels').default(64) }).prefault({}),
  /** Rotations of the discrete action (paper: 16, 22.5° apart). */
  rotations: posInt().max(360, 'expected at most 360 rotations').default(16),
  /** 'discrete': pixel × rotation × primitive, as the paper; 'continuous': Box(-1, 1, [4]) = (primitive, x, y, θ). */
  action: z.enum(['discrete', 'continuous']).default('discrete'),
  physicsHz: posNumUpTo(10_000, 'Hz').default(240),
  solverIterations: posInt().default(8),
  /** Contact natural frequency, Hz (Rapier's default is 30; 120 makes a 1.5 mm squeeze hold every test grasp). */
  contactHz: posNum().default(120),
  /** Seconds of physics after the clutter is dropped. */
  settleSeconds: posNum().default(1.2),
  /** Motions per episode (paper: success within 20 motions). */
  maxMotions: posInt().default(20),
  /** Probability that a reset hides the target under the clutter (the issue asks for at least half by default). */
  hiddenProbability: fraction().default(0.5),
  clutter,
  target,
  gripper,
  reward,
}).superRefine((s, ctx) => {
  const check = checker(ctx);
  const ws = s.workspace.size;
  // A contact spring stiffer than the step rate cannot be integrated (Rapier: contact natural frequency).
  check(s.contactHz <= s.physicsHz, ['contactHz'], `expected at most physicsHz (${s.physicsHz})`);
  check(s.clutter.count[0] <= s.clutter.count[1], ['clutter', 'count'], 'expected min <= max');
  check(s.clutter.cylinderFraction + s.clutter.hullFraction <= 1, ['clutter', 'hullFraction'], 'expected cylinderFraction + hullFraction <= 1');
  s.target.size.forEach((d, i) => check(d <= ws / 2, ['target', 'size', i], `expected at most half the workspace (${ws / 2} m)`));
  check(s.gripper.openWidth <= ws, ['gripper', 'openWidth'], `expected at most the workspace size (${ws} m)`);
  check(s.clutter.spawnRadius <= ws, ['clutter', 'spawnRadius'], `expected at most the workspace size (${ws} m)`);
  check(s.gripper.heldHeight < s.gripper.liftHeight, ['gripper', 'heldHeight'], `expected less than gripper.liftHeight (${s.gripper.liftHeight})`);
});

export type ManipulationScene = z.infer<typeof manipulationSceneSchema>;
