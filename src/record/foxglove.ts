import type { BodyDescription, SceneDescription } from '../core/frames.js';

/**
 * SceneDescription/Frame → Foxglove messages, so Foxglove and Lichtblick show a recording:
 * bodies become SceneUpdate entities (static ones posed in `world`, dynamic ones in their own
 * frame, moved by FrameTransforms), and each task may add overlay entities per frame.
 */

export const WORLD_FRAME = 'world';

export interface Time {
  sec: number;
  nsec: number;
}
export interface Rgba {
  r: number;
  g: number;
  b: number;
  a: number;
}
type Entity = Record<string, unknown>;

/** The primitive lists of a foxglove.SceneEntity: all required, most of them empty. */
interface Primitives {
  arrows?: unknown[];
  cubes?: unknown[];
  spheres?: unknown[];
  cylinders?: unknown[];
  lines?: unknown[];
  texts?: unknown[];
}

/**
 * A complete foxglove.SceneEntity: the official schema requires every primitive list and
 * `metadata`, even when empty (Foxglove itself tolerates gaps; other readers need not).
 */
export function sceneEntity(stamp: Time, frameId: string, id: string, parts: Primitives, metadata: { key: string; value: string }[] = [], frameLocked = false): Entity {
  return {
    timestamp: stamp,
    frame_id: frameId,
    id,
    lifetime: { sec: 0, nsec: 0 },
    frame_locked: frameLocked,
    metadata,
    arrows: parts.arrows ?? [],
    cubes: parts.cubes ?? [],
    spheres: parts.spheres ?? [],
    cylinders: parts.cylinders ?? [],
    lines: parts.lines ?? [],
    triangles: [],
    texts: parts.texts ?? [],
    models: [],
  };
}

type Point = { x: number; y: number; z: number };
/** A foxglove.LinePrimitive of one colour (type 0 strip, 1 loop, 2 list); `colors`/`indices` empty means "use all points, one colour". */
function line(type: 0 | 1 | 2, points: Point[], thickness: number, color: Rgba) {
  return { type, pose: IDENTITY, thickness, scale_invariant: true, points, color, colors: [], indices: [] };
}

/** A billboard label (foxglove.TextPrimitive), `size` in pixels. */
function label(position: Point, text: string, size = 14) {
  return { pose: { position, orientation: IDENTITY.orientation }, billboard: true, font_size: size, scale_invariant: true, color: { r: 1, g: 1, b: 1, a: 0.9 }, text };
}

export function timeOf(ns: bigint): Time {
  return { sec: Number(ns / 1_000_000_000n), nsec: Number(ns % 1_000_000_000n) };
}

export function hexToRgba(hex: string, a = 1): Rgba {
  const h = hex.replace('#', '');
  const full = h.length === 3 ? h.split('').map((c) => c + c).join('') : h.slice(0, 6);
  const n = parseInt(full, 16);
  if (!Number.isFinite(n)) return { r: 0.7, g: 0.7, b: 0.7, a };
  return { r: ((n >> 16) & 255) / 255, g: ((n >> 8) & 255) / 255, b: (n & 255) / 255, a };
}

export function bodyFrameId(body: Pick<BodyDescription, 'id' | 'name'>): string {
  return `body_${body.id}_${body.name.replace(/[^A-Za-z0-9_]+/g, '_')}`;
}

/**
 * Display coordinates rounded to 1e-5 (as /tf's poses): a Float32 pose printed as a double
 * takes ~17 digits, and printing those was most of the cost of an overlay message.
 */
const r5 = (x: number): number => Math.round(x * 1e5) / 1e5;

const IDENTITY = { position: { x: 0, y: 0, z: 0 }, orientation: { x: 0, y: 0, z: 0, w: 1 } };

function poseOf(p: ArrayLike<number>, offset = 0) {
  return {
    position: { x: p[offset], y: p[offset + 1], z: p[offset + 2] },
    orientation: { x: p[offset + 3], y: p[offset + 4], z: p[offset + 5], w: p[offset + 6] },
  };
}

/** Primitives of one body, posed relative to `pose`. Capsules: cylinder of `height` plus two end spheres (Rapier's convention). */
function primitivesOf(body: BodyDescription, pose: ReturnType<typeof poseOf>): Primitives {
  const color = hexToRgba(body.color);
  const [a, b = a] = body.size;
  switch (body.shape) {
    case 'box':
      return { cubes: [{ pose, size: { x: body.size[0], y: body.size[1], z: body.size[2] }, color }] };
    case 'sphere':
      return { spheres: [{ pose, size: { x: 2 * a, y: 2 * a, z: 2 * a }, color }] };
    case 'cylinder':
      return { cylinders: [{ pose, size: { x: 2 * a, y: 2 * a, z: b }, bottom_scale: 1, top_scale: 1, color }] };
    case 'capsule': {
      // The end spheres sit on the body's z axis; for a posed static capsule we keep them upright.
      const p = pose.position;
      const end = (dz: number) => ({ pose: { ...pose, position: { x: p.x, y: p.y, z: p.z + dz } }, size: { x: 2 * a, y: 2 * a, z: 2 * a }, color });
      return {
        cylinders: [{ pose, size: { x: 2 * a, y: 2 * a, z: b }, bottom_scale: 1, top_scale: 1, color }],
        spheres: [end(b / 2), end(-b / 2)],
      };
    }
  }
}

/** The bodies as one SceneUpdate: static bodies in `world`, dynamic ones locked to their own frame. */
export function sceneUpdateOfScene(scene: SceneDescription, stamp: Time): Record<string, unknown> {
  const entities = scene.bodies.map((body) =>
    sceneEntity(
      stamp,
      body.dynamic ? bodyFrameId(body) : WORLD_FRAME,
      `body/${body.id}`,
      primitivesOf(body, body.dynamic ? IDENTITY : poseOf(body.pose)),
      [
        { key: 'name', value: body.name },
        { key: 'role', value: body.role },
      ],
      body.dynamic,
    ),
  );
  return { deletions: [{ timestamp: stamp, type: 1, id: '' }], entities };
}

/**
 * Task overlays for Foxglove, one plugin per task (the `task` field of the SceneDescription).
 * A plugin keeps its per-episode state and returns only the entities that changed, so that
 * recording stays cheap (an entity replaces the earlier one with the same id).
 */
/** What an overlay reads of a frame: a Frame, or a frame as the recording thread holds it (worker-protocol.ts). */
export interface OverlayFrame {
  readonly poses: ArrayLike<number>;
  readonly bodyIds: ArrayLike<number>;
  readonly overlay: Record<string, unknown>;
}

export interface FoxgloveOverlay {
  /** Entities drawn at the start of an episode (range rings, named places, full columns). */
  start?(scene: SceneDescription, stamp: Time): Entity[];
  /**
   * Every display frame, before frame() if it is a refresh: cheap bookkeeping from the poses
   * (the UAV's trail), never the overlay data (parsing that is what refreshes cost).
   */
  track?(scene: SceneDescription, frame: OverlayFrame): void;
  /** A refresh (at the sink's overlayHz of sim time, and at the episode's last frame): the entities that changed since the last one. */
  frame(scene: SceneDescription, frame: OverlayFrame, stamp: Time): Entity[];
  /** Entities still pending when the episode ends (the last piece of a trail). */
  finish?(stamp: Time): Entity[];
}

export const FOXGLOVE_OVERLAYS: Record<string, () => FoxgloveOverlay> = {
  uav: uavOverlay,
  navigation: navigationOverlay,
  manipulation: manipulationOverlay,
};

interface Device {
  name?: string;
  position: number[];
  rangeM?: number;
}

function uavIndex(scene: SceneDescription, frame: OverlayFrame): number {
  const uav = scene.bodies.find((b) => b.role === 'uav');
  let i = uav ? -1 : 0;
  for (let k = 0; uav && i < 0 && k < frame.bodyIds.length; k++) if (frame.bodyIds[k] === uav.id) i = k;
  return i >= 0 && frame.poses.length >= 7 * (i + 1) ? i : -1;
}

/** Device column size from the workspace span (as the page draws them). */
export function columnSize(scene: SceneDescription): { hMax: number; radius: number } {
  const [x0 = 0, y0 = 0, , x1 = 100, y1 = 100] = scene.bounds;
  const span = Math.max(x1 - x0, y1 - y0);
  return { hMax: Math.max(5, 0.12 * span), radius: Math.max(1, 0.018 * span) };
}

/**
 * Remaining data is drawn in steps of this fraction (5%: each column entity is ~700 bytes, and
 * at 2% they were the largest part of the overlay), and columns are looked at each refresh
 * (1 s of sim time by default) and at the episode's end: a column changes a few dozen times
 * per episode, not every frame (the columns were most of the overlay's bytes).
 */
export const COLUMN_STEP = 0.05;
/** Points per range ring (a 10° polygon). */
const RING_POINTS = 36;
const TRAIL_CHUNK = 10;

/** UAV data collection: trail, device columns ∝ remaining data, range rings, allocation lines. */
function uavOverlay(): FoxgloveOverlay {
  let trail: { x: number; y: number; z: number }[] = [];
  let chunk = 0;
  let shown: number[] = [];
  let lastAllocation = '';
  const column = (scene: SceneDescription, d: Device, k: number, fraction: number, stamp: Time): Entity => {
    const { hMax, radius } = columnSize(scene);
    const h = Math.max(0.05, hMax * fraction);
    const name = d.name ?? `device-${k}`;
    return sceneEntity(
      stamp,
      WORLD_FRAME,
      `uav/device/${k}`,
      {
        cylinders: [
          {
            pose: { position: { x: d.position[0], y: d.position[1], z: r5(h / 2) }, orientation: IDENTITY.orientation },
            size: { x: r5(2 * radius), y: r5(2 * radius), z: r5(h) },
            bottom_scale: 1,
            top_scale: 1,
            color: { r: r5(0.31 + 0.6 * fraction), g: r5(0.75 - 0.11 * fraction), b: r5(0.42 - 0.19 * fraction), a: 0.85 },
          },
        ],
        texts: [label({ x: d.position[0], y: d.position[1], z: r5(h + radius) }, name)],
      },
      [
        { key: 'name', value: name },
        { key: 'remaining', value: fraction.toFixed(2) },
      ],
    );
  };
  const trailEntity = (stamp: Time): Entity => sceneEntity(stamp, WORLD_FRAME, `uav/trail/${chunk}`, { lines: [line(0, trail, 2, TRAIL_COLOR)] });
  let lastScene: SceneDescription | null = null;
  let lastRemaining: number[] = [];
  /** The columns whose drawn (quantised) height differs from the last frame's data. */
  const changedColumns = (stamp: Time): Entity[] => {
    const devices = (lastScene?.overlay?.devices as Device[] | undefined) ?? [];
    const out: Entity[] = [];
    for (let k = 0; k < devices.length; k++) {
      const q = Math.round((lastRemaining[k] ?? 1) / COLUMN_STEP) * COLUMN_STEP;
      if (q !== shown[k]) {
        shown[k] = q;
        out.push(column(lastScene!, devices[k], k, q, stamp));
      }
    }
    return out;
  };
  return {
    start(scene, stamp) {
      const devices = (scene.overlay?.devices as Device[] | undefined) ?? [];
      shown = devices.map(() => 1);
      const rings = devices
        .filter((d) => (d.rangeM ?? 0) > 0)
        .map((d) =>
          line(
            1,
            Array.from({ length: RING_POINTS }, (_, k) => {
              const a = (2 * Math.PI * k) / RING_POINTS;
              return { x: r5(d.position[0] + d.rangeM! * Math.cos(a)), y: r5(d.position[1] + d.rangeM! * Math.sin(a)), z: 0.05 };
            }),
            2,
            { r: 0.3, g: 0.64, b: 1, a: 0.6 },
          ),
        );
      return [sceneEntity(stamp, WORLD_FRAME, 'uav/range-rings', { lines: rings }), ...devices.map((d, k) => column(scene, d, k, 1, stamp))];
    },
    track(scene, frame) {
      // Every display frame's UAV position goes into the trail, between refreshes too.
      const i = uavIndex(scene, frame);
      if (i >= 0) trail.push({ x: r5(frame.poses[7 * i]), y: r5(frame.poses[7 * i + 1]), z: r5(frame.poses[7 * i + 2]) });
    },
    frame(scene, frame, stamp) {
      const out: Entity[] = [];
      const devices = (scene.overlay?.devices as Device[] | undefined) ?? [];
      lastScene = scene;
      lastRemaining = (frame.overlay.remaining as number[] | undefined) ?? [];
      out.push(...changedColumns(stamp));
      const pt = trail[trail.length - 1];
      if (!pt) return out;
      // The trail goes out in chunks of at least TRAIL_CHUNK points, each its own entity.
      if (trail.length >= TRAIL_CHUNK) {
        out.push(trailEntity(stamp));
        trail = [pt];
        chunk++;
      }
      // Lines from the UAV to its allocated devices: redrawn each refresh, as the UAV moves.
      const allocation = (frame.overlay.allocation as number[] | undefined) ?? [];
      const key = allocation.join(',');
      if (key !== lastAllocation || allocation.length) {
        lastAllocation = key;
        const links: { x: number; y: number; z: number }[] = [];
        for (const k of allocation) {
          const d = devices[k];
          if (k >= 0 && d) links.push(pt, { x: d.position[0], y: d.position[1], z: d.position[2] ?? 0 });
        }
        out.push(sceneEntity(stamp, WORLD_FRAME, 'uav/allocation', { lines: links.length ? [line(2, links, 3, { r: 0.24, g: 1, b: 0.48, a: 1 })] : [] }));
      }
      return out;
    },
    finish(stamp) {
      return [...changedColumns(stamp), ...(trail.length > 1 ? [trailEntity(stamp)] : [])];
    },
  };
}

const flat = (pts: unknown, z: number) => ((pts as number[][] | undefined) ?? []).map((p) => ({ x: p[0], y: p[1], z }));
const TRAIL_COLOR = { r: 1, g: 0.8, b: 0.2, a: 1 };

/** Navigation: goals (reached, current, ahead), the planned path and the executed path. */
function navigationOverlay(): FoxgloveOverlay {
  let goalKey = '';
  let plannedKey = '';
  let executed: unknown = [];
  const executedEntity = (stamp: Time): Entity => sceneEntity(stamp, WORLD_FRAME, 'nav/executed', { lines: [line(0, flat(executed, 0.03), 2, TRAIL_COLOR)] });
  return {
    start(scene, stamp) {
      // Named places (rooms, doors) as labels on the floor plan.
      const places = (scene.overlay?.places as { name: string; position: number[] }[] | undefined) ?? [];
      return places.length ? [sceneEntity(stamp, WORLD_FRAME, 'nav/places', { texts: places.map((p) => label({ x: p.position[0], y: p.position[1], z: 0.5 }, p.name, 12)) })] : [];
    },
    frame(scene, frame, stamp) {
      const out: Entity[] = [];
      const o = frame.overlay;
      const goals = (o.goals as number[][] | undefined) ?? [];
      const index = (o.goalIndex as number | undefined) ?? 0;
      const names = (o.goalNames as string[] | undefined) ?? [];
      const r = (scene.overlay?.goalRadius as number | undefined) ?? 0.3;
      const key = `${index}|${goals.join(';')}`;
      if (key !== goalKey) {
        goalKey = key;
        out.push(
          sceneEntity(stamp, WORLD_FRAME, 'nav/goals', {
            cylinders: goals.map((g, i) => ({
            pose: { position: { x: g[0], y: g[1], z: 0.01 }, orientation: IDENTITY.orientation },
            size: { x: 2 * r, y: 2 * r, z: 0.02 },
            bottom_scale: 1,
            top_scale: 1,
            color: i < index ? { r: 0.31, g: 0.75, b: 0.42, a: 0.7 } : i === index ? { r: 1, g: 0.55, b: 0.2, a: 0.8 } : { r: 0.54, g: 0.58, b: 0.65, a: 0.5 },
            })),
            texts: goals.map((g, i) => label({ x: g[0], y: g[1], z: 0.3 }, names[i] ?? `goal ${i + 1}`, 12)),
          }),
        );
      }
      const planned = (o.plannedPath as number[][] | undefined) ?? [];
      const pk = `${planned.length}|${planned[0]}|${planned[planned.length - 1]}`;
      if (pk !== plannedKey) {
        plannedKey = pk;
        out.push(sceneEntity(stamp, WORLD_FRAME, 'nav/planned', { lines: planned.length > 1 ? [line(0, flat(planned, 0.04), 2, { r: 0.2, g: 0.84, b: 1, a: 1 })] : [] }));
      }
      executed = o.executedPath ?? [];
      out.push(executedEntity(stamp));
      return out;
    },
  };
}

/** Manipulation: the chosen primitive as an arrow at (x, y) along θ (orange push, green grasp). */
function manipulationOverlay(): FoxgloveOverlay {
  let lastKey = '';
  return {
    frame(scene, frame, stamp) {
      const p = frame.overlay.primitive as { primitive: string; x: number; y: number; theta: number } | null | undefined;
      if (!p) return [];
      const key = `${p.primitive}|${p.x}|${p.y}|${p.theta}`;
      if (key === lastKey) return [];
      lastKey = key;
      const len = Math.max(0.05, (scene.overlay?.pushLength as number | undefined) ?? 0.1);
      const grasp = p.primitive === 'grasp';
      return [
        sceneEntity(
          stamp,
          WORLD_FRAME,
          'manipulation/primitive',
          {
            arrows: [
              {
                pose: { position: { x: p.x, y: p.y, z: 0.01 }, orientation: { x: 0, y: 0, z: Math.sin(p.theta / 2), w: Math.cos(p.theta / 2) } },
                shaft_length: 0.7 * len,
                shaft_diameter: 0.06 * len,
                head_length: 0.3 * len,
                head_diameter: 0.2 * len,
                color: grasp ? { r: 0.31, g: 0.75, b: 0.42, a: 1 } : { r: 1, g: 0.55, b: 0.2, a: 1 },
              },
            ],
          },
          [{ key: 'primitive', value: p.primitive }],
        ),
      ];
    },
  };
}
