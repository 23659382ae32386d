import { z } from 'zod';
import { checker, checkInsideArea, checkRates, color, fraction, nonNegNum, num, posInt, posNum, posNumUpTo, sceneBase, vec3 } from '../scene.js';

/**
 * The UAV data-collection scene (after LLM-CRDT, arXiv 2509.13934). Units: metres,
 * seconds, watts, joules, Mbit. Defaults are the paper's constants, where it gives them.
 */
const device = z.strictObject({
  name: z.string().optional(),
  /** Ground position [x, y]; devices sit on the ground (z = antennaHeight). */
  position: z.tuple([num(), num()], { error: 'expected [x, y]' }),
  dataMbit: posNum(),
  txPowerW: posNumUpTo(100, 'W').default(0.1),
});

const obstacle = z.strictObject({
  name: z.string().optional(),
  /** Centre of the box. */
  center: vec3(),
  /** Full extents [sx, sy, sz]. */
  size: z.tuple([posNum(), posNum(), posNum()], { error: 'expected [sx, sy, sz]' }),
  color: color().default('#8a8f98'),
});

/** Zeng, Xu & Zhang 2019, rotary-wing propulsion power model constants. */
const energyModel = z
  .strictObject({
    P0: posNum().default(79.86),
    Pi: posNum().default(88.63),
    Utip: posNum().default(120),
    v0: posNum().default(4.03),
    d0: posNum().default(0.6),
    rho: posNum().default(1.225),
    s: posNum().default(0.05),
    A: posNum().default(0.503),
  })
  .prefault({});

const channel = z
  .strictObject({
    /** Bandwidth of each resource block, MHz. Blocks may differ; their count is the list length. */
    resourceBlocksMHz: z.array(posNumUpTo(1000, 'MHz')).min(1, 'expected at least one resource block').default([0.5, 0.5]),
    /** Channel power gain at 1 m reference distance, dB (beta0); a gain above 0 dB at 1 m is not physical. */
    beta0Db: dbRange(-200, 0).default(-60),
    /** Noise power, dBm (sigma^2). */
    noiseDbm: dbRange(-200, 30).default(-110),
    /** A device is in range when its SNR is at least this (dB); this sets the radio range ring. */
    minSnrDb: dbRange(-50, 100).default(20),
    /** Rician K-factor (dB) of per-slot small-scale fading on each (device, block) pair; omit for pure line of sight. */
    ricianKDb: dbRange(-50, 50).optional(),
    /** Antenna height of ground devices, m. */
    antennaHeight: nonNegNum().default(1),
  })
  .prefault({});

// Upper limits are what no rotary-wing UAV reaches (the fastest racing drones fly about 50 m/s):
// beyond them a scene is a typo, not a vehicle.
const uav = z.strictObject({
  mass: posNumUpTo(1000, 'kg').default(2.0),
  /** Collision radius, m. */
  radius: posNumUpTo(20, 'm').default(0.4),
  /** Linear drag coefficient, 1/s (force = -mass·drag·(v − wind)). */
  linearDrag: posNumUpTo(100, '1/s').default(0.3),
  maxSpeed: posNumUpTo(100, 'm/s').default(15),
  maxVerticalSpeed: posNumUpTo(50, 'm/s').default(4),
  maxAccel: posNumUpTo(100, 'm/s²').default(6),
  /** Proportional gain of the velocity loop, 1/s; an integral term of gain²/4 removes the bias. */
  velocityGain: posNum().default(4),
  batteryKJ: posNum().default(60),
  start: vec3(),
  /** Uniform jitter of the start position per episode, m. */
  startJitter: nonNegNum().default(5),
  /** Altitude scripted baselines fly at, m. */
  cruiseAltitude: posNum().default(30),
});

const wind = z.strictObject({
  /** Mean wind velocity, m/s. */
  mean: vec3().default([0, 0, 0]),
  /** Std of the gust velocity, m/s (Ornstein-Uhlenbeck process per axis). */
  gustStd: nonNegNum().max(50, 'expected at most 50 m/s').default(1.5),
  /** Gust correlation time, s. */
  gustTau: posNum().default(3),
});

const reward = z
  .strictObject({
    /** Reward per slot = scale · bits collected / joules spent (energy efficiency). */
    scale: posNum().default(1e-5),
    crashPenalty: nonNegNum().default(10),
    geofencePenalty: nonNegNum().default(10),
  })
  .prefault({});

export const uavSceneSchema = z.strictObject({
  ...sceneBase,
  task: z.literal('uav'),
  area: z.strictObject({
    /** Side lengths [Lx, Ly] of the flight area, m; the fence is [0, Lx] × [0, Ly]. */
    size: z.tuple([posNumUpTo(100_000, 'm'), posNumUpTo(100_000, 'm')], { error: 'expected [Lx, Ly]' }),
    maxAltitude: posNumUpTo(10_000, 'm').default(120),
  }),
  physicsHz: posNumUpTo(10_000, 'Hz').default(100),
  controlHz: posNum().default(5),
  maxEpisodeSteps: posInt().default(600),
  uav,
  energy: energyModel,
  channel,
  devices: z.array(device).min(1, 'expected at least one device'),
  /** Each device's data is scaled by U[1 − j, 1 + j] per episode. */
  dataJitter: fraction().default(0.2),
  obstacles: z.array(obstacle).default([]),
  wind: wind.optional(),
  reward,
}).superRefine((s, ctx) => {
  const check = checker(ctx);
  checkRates(check, s);
  const { size, maxAltitude } = s.area;
  const [x, y, z] = s.uav.start;
  checkInsideArea(check, ['uav', 'start'], [x, y], size);
  check(z >= 0, ['uav', 'start', 2], `${z} is below the ground (z = 0)`);
  check(z <= maxAltitude, ['uav', 'start', 2], `${z} is above area.maxAltitude (${maxAltitude})`);
  check(s.uav.cruiseAltitude <= maxAltitude, ['uav', 'cruiseAltitude'], `expected at most area.maxAltitude (${maxAltitude})`);
  check(s.uav.radius < Math.min(...size) / 2, ['uav', 'radius'], `expected less than half the area's side (${Math.min(...size) / 2} m)`);
  check(Math.hypot(...(s.wind?.mean ?? [0, 0, 0])) <= 50, ['wind', 'mean'], 'expected a wind speed of at most 50 m/s');
  check(s.channel.antennaHeight <= maxAltitude, ['channel', 'antennaHeight'], `expected at most area.maxAltitude (${maxAltitude})`);
  s.devices.forEach((d, i) => checkInsideArea(check, ['devices', i, 'position'], d.position, size));
});

/** A level in dB (or dBm) within a physical range. */
function dbRange(lo: number, hi: number) {
  return num().min(lo, `expected a level in [${lo}, ${hi}] dB`).max(hi, `expected a level in [${lo}, ${hi}] dB`);
}

export type UavScene = z.infer<typeof uavSceneSchema>;
export type EnergyModel = UavScene['energy'];
export type ChannelModel = UavScene['channel'];
