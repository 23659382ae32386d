import type { BodyDescription, SceneDescription } from '../../src/core/frames.js';
import type { UavModel, UavState } from './model.js';
import type { UavScene } from './scene.js';

/** What the viewer shows of a UAV scene: the static world, the devices and their radio ranges, the UAV. */
export function describeUav(scene: UavScene, model: UavModel, staticBodies: BodyDescription[], uavId: number): SceneDescription {
  const ranges = model.deviceRanges();
  const devices: BodyDescription[] = scene.devices.map((d, k) => ({
    id: staticBodies.length + k,
    name: d.name ?? `device-${k}`,
    shape: 'cylinder',
    size: [1.5, 2],
    color: '#f5a623',
    pose: [d.position[0], d.position[1], 1, 0, 0, 0, 1],
    dynamic: false,
    role: 'device',
  }));
  const uav: BodyDescription = {
    id: uavId,
    name: 'uav',
    shape: 'sphere',
    size: [scene.uav.radius],
    color: '#4a90d9',
    pose: [...scene.uav.start, 0, 0, 0, 1],
    dynamic: true,
    role: 'uav',
  };
  return {
    scene: scene.name,
    task: 'uav',
    bounds: [0, 0, 0, scene.area.size[0], scene.area.size[1], scene.area.maxAltitude],
    bodies: [...staticBodies, ...devices, uav],
    overlay: {
      devices: scene.devices.map((d, k) => ({ name: d.name ?? `device-${k}`, position: model.devicePos[k], rangeM: ranges[k] })),
      resourceBlocks: scene.channel.resourceBlocksMHz.length,
      controlHz: scene.controlHz,
    },
  };
}

/** One viewer frame of a UAV state: its pose (written into `poses`, then copied), HUD and overlay. */
export function uavFrame(model: UavModel, s: UavState, uavId: number, poses: Float32Array) {
  poses[0] = s.pos[0];
  poses[1] = s.pos[1];
  poses[2] = s.pos[2];
  poses[3] = 0;
  poses[4] = 0;
  poses[5] = 0;
  poses[6] = 1;
  const m = model.metrics(s);
  return {
    poses: poses.slice(),
    bodyIds: [uavId],
    hud: {
      batteryPct: 100 * Math.max(0, 1 - s.energyJ / s.batteryJ),
      mbitCollected: m.mbitCollected,
      fractionCollected: m.fractionCollected,
      efficiencyBitPerJ: m.efficiencyBitPerJ,
      speed: Math.hypot(s.vel[0], s.vel[1], s.vel[2]),
      altitude: s.pos[2],
    },
    overlay: {
      remaining: s.remainingBits.map((b, k) => b / s.initialBits[k]),
      allocation: s.allocation.slice(),
    },
  };
}
