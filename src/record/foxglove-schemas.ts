/**
 * JSON Schema text for the Foxglove message types we write, following
 * foxglove/schemas `schemas/jsonschema/{SceneUpdate,FrameTransforms}.json`.
 * Foxglove and Lichtblick recognise a channel by the schema *name* (`foxglove.SceneUpdate`)
 * with encoding `jsonschema`; the text is stored so other tools can check messages.
 * SceneUpdate here lists the primitives embody writes (arrows, cubes, spheres, cylinders,
 * lines, texts); the upstream schema also has triangles and models, which we never write.
 */

type Json = Record<string, unknown>;

const num = (description: string): Json => ({ type: 'number', description });
const time = (description: string): Json => ({
  type: 'object',
  title: 'time',
  properties: {
    sec: { type: 'integer', minimum: 0 },
    nsec: { type: 'integer', minimum: 0, maximum: 999999999 },
  },
  description,
});
const duration = (description: string): Json => ({
  type: 'object',
  title: 'duration',
  properties: {
    sec: { type: 'integer' },
    nsec: { type: 'integer', minimum: 0, maximum: 999999999 },
  },
  description,
});
const vector3 = (description: string): Json => ({
  title: 'foxglove.Vector3',
  description,
  type: 'object',
  properties: { x: num('x coordinate length'), y: num('y coordinate length'), z: num('z coordinate length') },
});
const point3 = (description: string): Json => ({
  title: 'foxglove.Point3',
  description,
  type: 'object',
  properties: { x: num('x coordinate position'), y: num('y coordinate position'), z: num('z coordinate position') },
});
const quaternion = (description: string): Json => ({
  title: 'foxglove.Quaternion',
  description,
  type: 'object',
  properties: { x: num('x value'), y: num('y value'), z: num('z value'), w: num('w value') },
});
const pose = (description: string): Json => ({
  title: 'foxglove.Pose',
  description,
  type: 'object',
  properties: {
    position: vector3('Point denoting position in 3D space'),
    orientation: quaternion('Quaternion denoting orientation in 3D space'),
  },
});
const color = (description: string): Json => ({
  title: 'foxglove.Color',
  description,
  type: 'object',
  properties: {
    r: num('Red value between 0 and 1'),
    g: num('Green value between 0 and 1'),
    b: num('Blue value between 0 and 1'),
    a: num('Alpha value between 0 and 1'),
  },
});
const arrayOf = (items: Json, description: string): Json => ({ type: 'array', items, description });
const primitive = (title: string, description: string, properties: Json): Json => ({
  title,
  description,
  type: 'object',
  properties,
});

const arrowPrimitive = primitive('foxglove.ArrowPrimitive', 'A primitive representing an arrow', {
  pose: pose("Position of the arrow's tail and orientation of the arrow. Identity orientation means the arrow points in the +x direction."),
  shaft_length: num('Length of the arrow shaft'),
  shaft_diameter: num('Diameter of the arrow shaft'),
  head_length: num('Length of the arrow head'),
  head_diameter: num('Diameter of the arrow head'),
  color: color('Color of the arrow'),
});
const cubePrimitive = primitive('foxglove.CubePrimitive', 'A primitive representing a cube or rectangular prism', {
  pose: pose('Position of the center of the cube and orientation of the cube'),
  size: vector3('Size of the cube along each axis'),
  color: color('Color of the cube'),
});
const spherePrimitive = primitive('foxglove.SpherePrimitive', 'A primitive representing a sphere or ellipsoid', {
  pose: pose('Position of the center of the sphere and orientation of the sphere'),
  size: vector3('Size (diameter) of the sphere along each axis'),
  color: color('Color of the sphere'),
});
const cylinderPrimitive = primitive('foxglove.CylinderPrimitive', 'A primitive representing a cylinder, elliptic cylinder, or truncated cone', {
  pose: pose('Position of the center of the cylinder and orientation of the cylinder. The flat face(s) are perpendicular to the z-axis.'),
  size: vector3("Size of the cylinder's bounding box"),
  bottom_scale: num("0-1, ratio of the diameter of the cylinder's bottom face (min z) to the bottom of the bounding box"),
  top_scale: num("0-1, ratio of the diameter of the cylinder's top face (max z) to the top of the bounding box"),
  color: color('Color of the cylinder'),
});
const linePrimitive = primitive('foxglove.LinePrimitive', 'A primitive representing a series of points connected by lines', {
  type: {
    title: 'foxglove.LineType',
    description: 'Drawing primitive to use for lines',
    oneOf: [
      { title: 'LINE_STRIP', const: 0, description: 'Connected line segments: 0-1, 1-2, ..., (n-1)-n' },
      { title: 'LINE_LOOP', const: 1, description: 'Closed polygon: 0-1, 1-2, ..., (n-1)-n, n-0' },
      { title: 'LINE_LIST', const: 2, description: 'Individual line segments: 0-1, 2-3, 4-5, ...' },
    ],
  },
  pose: pose('Origin of lines relative to reference frame'),
  thickness: num('Line thickness'),
  scale_invariant: {
    type: 'boolean',
    description: 'Indicates whether `thickness` is a fixed size in screen pixels (true), or specified in world coordinates and scales with distance from the camera (false)',
  },
  points: arrayOf(point3('A point representing a position in 3D space'), 'Points along the line'),
  color: color('Solid color to use for the whole line. One of `color` or `colors` must be provided.'),
  colors: arrayOf(color('A color in RGBA format'), 'Per-point colors (if specified, must have the same length as `points`). One of `color` or `colors` must be provided.'),
  indices: arrayOf({ type: 'integer', minimum: 0 }, 'Indices into the `points` and `colors` attribute arrays, which can be used to avoid duplicating attribute data.'),
});
const textPrimitive = primitive('foxglove.TextPrimitive', 'A primitive representing a text label', {
  pose: pose('Position of the center of the text box and orientation of the text. Identity orientation means the text is oriented in the xy-plane and flows from -x to +x.'),
  billboard: { type: 'boolean', description: 'Whether the text should respect `pose.orientation` (false) or always face the camera (true)' },
  font_size: num('Font size (height of one line of text)'),
  scale_invariant: { type: 'boolean', description: 'Indicates whether `font_size` is a fixed size in screen pixels (true), or specified in world coordinates and scales with distance from the camera (false)' },
  color: color('Color of the text'),
  text: { type: 'string', description: 'Text' },
});

export const SCENE_UPDATE_SCHEMA: Json = {
  title: 'foxglove.SceneUpdate',
  description: 'An update to the entities displayed in a 3D scene',
  $comment: 'After https://github.com/foxglove/schemas (subset of primitives written by embody)',
  type: 'object',
  properties: {
    deletions: arrayOf(
      {
        title: 'foxglove.SceneEntityDeletion',
        description: 'Command to remove previously published entities',
        type: 'object',
        properties: {
          timestamp: time('Timestamp of the deletion. Only matching entities earlier than this timestamp will be deleted.'),
          type: {
            title: 'foxglove.SceneEntityDeletionType',
            description: 'Type of deletion action to perform',
            oneOf: [
              { title: 'MATCHING_ID', const: 0, description: 'Delete the existing entity on the same topic that has the provided `id`' },
              { title: 'ALL', const: 1, description: 'Delete all existing entities on the same topic' },
            ],
          },
          id: { type: 'string', description: 'Identifier which must match if `type` is `MATCHING_ID`.' },
        },
      },
      'Scene entities to delete',
    ),
    entities: arrayOf(
      {
        title: 'foxglove.SceneEntity',
        description: 'A visual element in a 3D scene. An entity may be composed of multiple primitives which all share the same frame of reference.',
        type: 'object',
        properties: {
          timestamp: time('Timestamp of the entity'),
          frame_id: { type: 'string', description: 'Frame of reference' },
          id: { type: 'string', description: 'Identifier for the entity. A entity will replace any prior entity on the same topic with the same `id`.' },
          lifetime: duration('Length of time (relative to `timestamp`) after which the entity should be automatically removed. Zero value indicates the entity should remain visible until it is replaced or deleted.'),
          frame_locked: { type: 'boolean', description: 'Whether the entity should keep its location in the fixed frame (false) or follow the frame specified in `frame_id` as it moves relative to the fixed frame (true)' },
          metadata: arrayOf(
            {
              title: 'foxglove.KeyValuePair',
              description: 'A key with its associated value',
              type: 'object',
              properties: { key: { type: 'string', description: 'Key' }, value: { type: 'string', description: 'Value' } },
            },
            'Additional user-provided metadata associated with the entity. Keys must be unique.',
          ),
          arrows: arrayOf(arrowPrimitive, 'Arrow primitives'),
          cubes: arrayOf(cubePrimitive, 'Cube primitives'),
          spheres: arrayOf(spherePrimitive, 'Sphere primitives'),
          cylinders: arrayOf(cylinderPrimitive, 'Cylinder primitives'),
          lines: arrayOf(linePrimitive, 'Line primitives'),
          texts: arrayOf(textPrimitive, 'Text primitives'),
        },
      },
      'Scene entities to add or replace',
    ),
  },
};

export const FRAME_TRANSFORMS_SCHEMA: Json = {
  title: 'foxglove.FrameTransforms',
  description: 'An array of FrameTransform messages',
  $comment: 'After https://github.com/foxglove/schemas',
  type: 'object',
  properties: {
    transforms: arrayOf(
      {
        title: 'foxglove.FrameTransform',
        description: 'A transform between two reference frames in 3D space',
        type: 'object',
        properties: {
          timestamp: time('Timestamp of transform'),
          parent_frame_id: { type: 'string', description: 'Name of the parent frame' },
          child_frame_id: { type: 'string', description: 'Name of the child frame' },
          translation: vector3('Translation component of the transform'),
          rotation: quaternion('Rotation component of the transform'),
        },
      },
      'Array of transforms',
    ),
  },
};

/** embody's own channels: the exact frames the viewer draws, so replay needs nothing else. */
export const EMBODY_SCENE_SCHEMA: Json = {
  title: 'embody.SceneDescription',
  description: 'The bodies of a scene (shapes, sizes, colours, first poses) and task overlay data; see src/core/frames.ts',
  type: 'object',
  required: ['scene', 'task', 'bounds', 'bodies'],
  properties: {
    scene: { type: 'string' },
    task: { type: 'string' },
    bounds: { type: 'array', items: { type: 'number' } },
    bodies: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'name', 'shape', 'size', 'color', 'pose', 'dynamic', 'role'],
        properties: {
          id: { type: 'integer', minimum: 0 },
          name: { type: 'string' },
          shape: { type: 'string', enum: ['box', 'sphere', 'cylinder', 'capsule'] },
          size: { type: 'array', items: { type: 'number' } },
          color: { type: 'string' },
          pose: { type: 'array', items: { type: 'number' } },
          dynamic: { type: 'boolean' },
          role: { type: 'string' },
        },
      },
    },
    overlay: { type: 'object' },
  },
};

export const EMBODY_FRAME_SCHEMA: Json = {
  title: 'embody.Frame',
  description: 'One frame: time, dynamic body poses [x,y,z,qx,qy,qz,qw] flattened, reward, return, HUD figures and task overlays; see src/core/frames.ts',
  type: 'object',
  required: ['t', 'episode', 'poses', 'bodyIds', 'reward', 'return', 'hud', 'overlay'],
  properties: {
    t: { type: 'number' },
    episode: { type: 'integer', minimum: 0 },
    poses: { type: 'array', items: { type: 'number' } },
    bodyIds: { type: 'array', items: { type: 'integer', minimum: 0 } },
    reward: { type: 'number' },
    return: { type: 'number' },
    hud: { type: 'object' },
    overlay: { type: 'object' },
  },
};
