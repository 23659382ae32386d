import { z } from 'zod';
import { color, fraction, nonNegNum, num, posInt, posNum, sceneBase, vec3 } from '../scene.js';

/**
 * The UAV data-collection scene (after LLM-CRDT, arXiv 2509.13934). Units: metres,
 * seconds, watts, joules, Mbit. Defaults are the paper's constants, where it gives them.
 */
const device = z.strictObject({
  name: z.string().optional(),
  /** Ground position [x, y]; devices sit on the ground (z = antennaHeight). */
  position: z.tuple([num(), num()], { error: 'expected [x, y]' }),
  dataMbit: posNum(),
  txPowerW: posNum().default(0.1),
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
    resourceBlocksMHz: z.array(posNum()).min(1, 'expected at least one resource block').default([0.5, 0.5]),
    /** Channel power gain at 1 m reference distance, dB (beta0). */
    beta0Db: num().default(-60),
    /** Noise power, dBm (sigma^2). */
    noiseDbm: num().default(-110),
    /** A device is in range when its SNR is at least this (dB); this sets the radio range ring. */
    minSnrDb: num().default(20),
    /** Rician K-factor (dB) of per-slot small-scale fading on each (device, block) pair; omit for pure line of sight. */
    ricianKDb: num().optional(),
    /** Antenna height of ground devices, m. */
    antennaHeight: nonNegNum().default(1),
  })
  .prefault({});

const uav = z.strictObject({
  mass: posNum().default(2.0),
  /** Collision radius, m. */
  radius: posNum().default(0.4),
  /** Linear drag coefficient, 1/s (force = -mass·drag·(v − wind)). */
  linearDrag: posNum().default(0.3),
  maxSpeed: posNum().default(15),
  maxVerticalSpeed: posNum().default(4),
  maxAccel: posNum().default(6),
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
  gustStd: nonNegNum().default(1.5),
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
    size: z.tuple([posNum(), posNum()], { error: 'expected [Lx, Ly]' }),
    maxAltitude: posNum().default(120),
  }),
  physicsHz: posNum().default(100),
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
});

export type UavScene = z.infer<typeof uavSceneSchema>;
export type EnergyModel = UavScene['energy'];
export type ChannelModel = UavScene['channel'];
