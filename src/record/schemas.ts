import { FrameTransforms, SceneUpdate } from '@foxglove/schemas/jsonschema.js';
import { z } from 'zod';

/**
 * The schemas stored in a recording. Foxglove's come from the official `@foxglove/schemas`
 * package (Foxglove and Lichtblick recognise a channel by the schema *name* with encoding
 * `jsonschema`; the stored text lets any other tool check the messages). embody's own two
 * channels are described by the zod schemas below, and their JSON Schema is generated from
 * them (`z.toJSONSchema`), so the text in the file cannot drift from what we validate.
 */
export const SCENE_UPDATE_SCHEMA = SceneUpdate;
export const FRAME_TRANSFORMS_SCHEMA = FrameTransforms;

const Numbers = z.array(z.number());

/** One body of a SceneDescription (src/core/frames.ts BodyDescription). */
export const BodyDescriptionSchema = z.object({
  id: z.int().min(0),
  name: z.string(),
  shape: z.enum(['box', 'sphere', 'cylinder', 'capsule']),
  size: Numbers.describe('box: full extents [x, y, z]; sphere: [radius]; cylinder/capsule: [radius, height] along z'),
  color: z.string().describe('CSS hex colour'),
  pose: Numbers.describe('[x, y, z, qx, qy, qz, qw] of a static body, first pose of a dynamic one'),
  dynamic: z.boolean(),
  role: z.string().describe('uav, device, building, ground, gripper, object, ...'),
});

/** `/embody/scene`: exactly what the env's describe() gave. */
export const SceneDescriptionSchema = z
  .object({
    scene: z.string(),
    task: z.string(),
    bounds: Numbers.describe('[xmin, ymin, zmin, xmax, ymax, zmax]'),
    bodies: z.array(BodyDescriptionSchema),
    overlay: z.record(z.string(), z.unknown()).optional().describe('task-specific static overlay data'),
  })
  .meta({ title: 'embody.SceneDescription', description: 'The bodies of a scene and the task overlay data (src/core/frames.ts)' });

/** `/embody/frame`: one frame as JSON (poses as a plain array, rounded to 1e-5 m). */
export const FrameMessageSchema = z
  .object({
    t: z.number().describe('seconds since the episode start'),
    episode: z.int().min(0),
    poses: Numbers.describe('[x, y, z, qx, qy, qz, qw] per dynamic body, flattened'),
    bodyIds: z.array(z.int().min(0)),
    reward: z.number(),
    return: z.number(),
    hud: z.record(z.string(), z.number()),
    overlay: z.record(z.string(), z.unknown()),
  })
  .meta({ title: 'embody.Frame', description: 'One frame: time, dynamic body poses, reward, return, HUD figures and task overlays (src/core/frames.ts)' });

export const EMBODY_SCENE_SCHEMA = z.toJSONSchema(SceneDescriptionSchema, { target: 'draft-7' });
export const EMBODY_FRAME_SCHEMA = z.toJSONSchema(FrameMessageSchema, { target: 'draft-7' });
