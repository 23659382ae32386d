/**
 * What the viewer and the recorder draw: a SceneDescription sent once, then Frames.
 * Coordinates are right-handed, z up, metres (ROS ENU), as Foxglove expects.
 */
export type ShapeKind = 'box' | 'sphere' | 'cylinder' | 'capsule';

export interface BodyDescription {
  /** Stable index into Frame.poses. Static bodies are described but never posed. */
  id: number;
  name: string;
  shape: ShapeKind;
  /** box: full extents [x, y, z]; sphere: [radius]; cylinder/capsule: [radius, height] along z. */
  size: number[];
  /** CSS hex colour, e.g. "#4a90d9". */
  color: string;
  /** Pose of static bodies, and the first pose of dynamic ones: [x, y, z, qx, qy, qz, qw]. */
  pose: number[];
  dynamic: boolean;
  /** What the body is, for overlays and follow cameras: "uav", "device", "building", "ground", "gripper"... */
  role: string;
}

export interface SceneDescription {
  scene: string;
  task: string;
  /** Axis-aligned workspace bounds [xmin, ymin, zmin, xmax, ymax, zmax]. */
  bounds: number[];
  bodies: BodyDescription[];
  /** Task-specific static data for overlays (device positions, radio ranges, named places). */
  overlay?: Record<string, unknown>;
}

export interface Frame {
  /** Seconds since the episode start. */
  t: number;
  /** Episode index within the run. */
  episode: number;
  /** For each dynamic body, in SceneDescription order: [x, y, z, qx, qy, qz, qw], flattened. */
  poses: Float32Array;
  /** Ids of the dynamic bodies, matching `poses`. */
  bodyIds: number[];
  /** Reward of the last step, and the return so far. */
  reward: number;
  return: number;
  /** Task figures shown in the HUD (battery, Mbit collected, ...). */
  hud: Record<string, number>;
  /** Task overlay data (device data, allocation, planned path, chosen primitive...). */
  overlay: Record<string, unknown>;
}

/** Anything that can show or record frames: the live viewer, an MCAP writer. */
export interface FrameSink {
  describe(scene: SceneDescription): void | Promise<void>;
  frame(frame: Frame): void | Promise<void>;
  /** An episode ended; `metrics` are its final figures. */
  endEpisode?(episode: number, metrics: Record<string, number>): void | Promise<void>;
  close?(): void | Promise<void>;
}
