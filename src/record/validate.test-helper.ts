import { FrameTransforms, SceneUpdate } from '@foxglove/schemas/jsonschema.js';
import { Ajv, type ValidateFunction } from 'ajv';
import { openMcap } from './mcap-reader.js';
import { EMBODY_FRAME_SCHEMA, EMBODY_SCENE_SCHEMA } from './schemas.js';
import { TOPICS } from './episode-writer.js';

/**
 * A copy of a schema that also forbids properties it does not list. The official Foxglove
 * schemas allow extras, so a typo (`frameId`) would pass them unseen; the tests check this way.
 */
export function strictSchema(schema: unknown): any {
  if (Array.isArray(schema)) return schema.map(strictSchema);
  if (!schema || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) out[k] = k === 'properties' ? Object.fromEntries(Object.entries(v as object).map(([p, s]) => [p, strictSchema(s)])) : strictSchema(v);
  if (out.type === 'object' && out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

const ajv = new Ajv({ strict: false, allErrors: true });
/** Schema name → validator: Foxglove's from the official package (strict copy), embody's generated from zod. */
const VALIDATORS: Record<string, ValidateFunction> = {
  'foxglove.SceneUpdate': ajv.compile(strictSchema(SceneUpdate)),
  'foxglove.FrameTransforms': ajv.compile(strictSchema(FrameTransforms)),
  'embody.SceneDescription': ajv.compile(EMBODY_SCENE_SCHEMA),
  'embody.Frame': ajv.compile(EMBODY_FRAME_SCHEMA),
};
const OFFICIAL: Record<string, unknown> = { 'foxglove.SceneUpdate': SceneUpdate, 'foxglove.FrameTransforms': FrameTransforms };

/**
 * Every message of a recording checked against its channel's schema, by the schema name stored
 * in the file; also checks that the stored Foxglove schema text is the official one.
 */
export async function recordingErrors(file: string): Promise<{ errors: string[]; counts: Record<string, number>; overlayIds: Set<string> }> {
  const { reader, readable } = await openMcap(file);
  const dec = new TextDecoder();
  const errors: string[] = [];
  const counts: Record<string, number> = {};
  const overlayIds = new Set<string>();
  try {
    for (const s of reader.schemasById.values()) {
      if (!VALIDATORS[s.name]) errors.push(`schema ${s.name}: unknown`);
      if (s.encoding !== 'jsonschema') errors.push(`schema ${s.name}: encoding ${s.encoding}`);
      if (OFFICIAL[s.name] && dec.decode(s.data) !== JSON.stringify(OFFICIAL[s.name])) errors.push(`schema ${s.name}: stored text is not @foxglove/schemas'`);
    }
    for await (const m of reader.readMessages()) {
      const channel = reader.channelsById.get(m.channelId)!;
      const name = reader.schemasById.get(channel.schemaId)!.name;
      counts[channel.topic] = (counts[channel.topic] ?? 0) + 1;
      const msg = JSON.parse(dec.decode(m.data));
      const validate = VALIDATORS[name];
      if (validate && !validate(msg)) errors.push(...validate.errors!.map((e) => `${channel.topic} #${counts[channel.topic]}: ${e.instancePath} ${e.message}`));
      if (channel.topic === TOPICS.overlay) for (const e of msg.entities) overlayIds.add(e.id);
    }
  } finally {
    await readable.close();
  }
  return { errors, counts, overlayIds };
}
