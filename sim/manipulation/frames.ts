import type { BodyDescription, Frame, SceneDescription } from '../../src/core/frames.js';
import type { SlotSpec } from './clutter.js';
import { PARK_HEIGHT } from './gripper.js';
import type { ManipGeometry, ManipState } from './model.js';
import type { ManipulationScene } from './scene.js';
import { poseOf, type Tabletop } from './tabletop.js';

/**
 * What the viewer and the recorder see of the manipulation world. The SceneDescription has one
 * body per slot of the scene's object set (fixed per scene, so that it holds for every episode),
 * then the gripper's hand and fingers; objects not in the world (not drawn this episode, or
 * taken away) are posed at z = −1.
 */

const GONE_POSE = [0, 0, -1, 0, 0, 0, 1];

export function describeTabletop(scene: ManipulationScene, gm: ManipGeometry, slots: SlotSpec[], t: Tabletop): SceneDescription {
  const g = scene.gripper;
  const bodies: BodyDescription[] = [{ ...t.table, size: [...t.table.size], pose: [...t.table.pose] }];
  const present = new Map(t.objects.map((o) => [o.id, o]));
  for (const slot of slots) {
    const o = present.get(slot.id);
    bodies.push({
      id: slot.id,
      name: slot.name,
      // The viewer contract (src/core/frames.ts) has no mesh kind: a hull is drawn as its bounding box.
      shape: slot.shape === 'hull' ? 'box' : slot.shape,
      size: [...slot.size],
      color: slot.color,
      pose: o?.body ? poseOf(o.body) : [...GONE_POSE],
      dynamic: true,
      role: slot.isTarget ? 'target' : 'clutter',
    });
  }
  const n = slots.length + 1;
  t.gripper
    .parts()
    .forEach(([name, size, body], k) =>
      bodies.push({ id: n + k, name, shape: 'box', size, color: '#d0d4da', pose: poseOf(body), dynamic: true, role: 'gripper' }),
    );
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
      targetId: slots.find((sl) => sl.isTarget)?.id ?? -1,
    },
  };
}

export function tabletopFrame(scene: ManipulationScene, slots: SlotSpec[], t: Tabletop, s: ManipState): Pick<Frame, 'poses' | 'bodyIds' | 'hud' | 'overlay'> {
  const ids: number[] = [];
  const poses: number[] = [];
  const present = new Map(t.objects.map((o) => [o.id, o]));
  for (const slot of slots) {
    const o = present.get(slot.id);
    ids.push(slot.id);
    poses.push(...(o?.body ? poseOf(o.body) : GONE_POSE));
  }
  const n = slots.length + 1;
  const { hand, fingers } = t.gripper;
  [hand, fingers[0], fingers[1]].forEach((b, k) => {
    ids.push(n + k);
    poses.push(...poseOf(b));
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
      pushLength: scene.gripper.pushLength,
      targetVisible: s.targetPixels > 0,
      lastGraspSuccess: s.lastGraspSuccess,
    },
  };
}
