import { decode as cborDecode, encode as cborEncode } from 'cbor-x';
import { z } from 'zod';

/**
 * The embody MQTT protocol, version 1 (DESIGN.md "MQTT protocol"; hardware/README.md is the
 * page a robot team writes its side from). One zod schema per message is the check, the
 * type and the error text. Topics are `embody/v1/{robotId}/{channel}`; every payload is an
 * envelope `{v, type, robotId, seq, tMs, payload}`. Encoding is JSON by default, CBOR as an
 * option; a receiver tells them apart by the first byte, so no negotiation is needed.
 */

export const PROTOCOL_VERSION = 1 as const;
export const TOPIC_ROOT = `embody/v${PROTOCOL_VERSION}`;

/** Largest payload any receiver accepts, bytes. Policy chunks are sized to fit under it. */
export const MAX_PAYLOAD_BYTES = 256 * 1024;

/**
 * What one policy deployment may hold; the agent checks a `policy.begin` against these before
 * it accepts a byte, and acks a refusal with the reason (hardware/README.md lists them).
 */
export const DEPLOY_LIMITS = {
  /** Files per deployment (manifest included). */
  maxFiles: 16,
  /** Bytes of one file, and of the whole deployment. */
  maxFileBytes: 64 * 1024 * 1024,
  maxTotalBytes: 64 * 1024 * 1024,
  /** Raw bytes of one chunk (192 KiB: 256 KiB once base64). */
  maxChunkBytes: 192 * 1024,
  /** Chunks per deployment, all files together. */
  maxChunks: 4096,
} as const;

/** Default time-to-live of a command (Husky's cmd_vel_timeout is 0.25 s). */
export const DEFAULT_TTL_MS = 250;

export const CHANNELS = ['state', 'cmd', 'status', 'estop', 'policy', 'policy/ack', 'events'] as const;
export type Channel = (typeof CHANNELS)[number];

/** MQTT delivery settings per channel, as DESIGN.md's table gives them. Commands are never retained. */
export const CHANNEL_QOS: Record<Channel, { qos: 0 | 1; retain: boolean }> = {
  state: { qos: 0, retain: false },
  cmd: { qos: 0, retain: false },
  status: { qos: 1, retain: true },
  estop: { qos: 1, retain: true },
  policy: { qos: 1, retain: false },
  'policy/ack': { qos: 1, retain: false },
  events: { qos: 1, retain: false },
};

/** A robot id is one topic level: no `/`, `+`, `#`, so it can never widen a subscription. */
export const robotIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'expected a robot id of 1-64 characters from [A-Za-z0-9_-]');

export function topicFor(robotId: string, channel: Channel): string {
  return `${TOPIC_ROOT}/${robotId}/${channel}`;
}

/** All robots' topics of one channel, for a ground station serving a fleet. */
export function wildcardTopic(channel: Channel): string {
  return `${TOPIC_ROOT}/+/${channel}`;
}

/** `embody/v1/uav-1/policy/ack` → {robotId: 'uav-1', channel: 'policy/ack'}; null if it is not ours. */
export function parseTopic(topic: string): { robotId: string; channel: Channel } | null {
  const m = /^embody\/v(\d+)\/([^/]+)\/(.+)$/.exec(topic);
  if (!m) return null;
  if (Number(m[1]) !== PROTOCOL_VERSION) return null;
  const channel = m[3] as Channel;
  if (!CHANNELS.includes(channel)) return null;
  if (!robotIdSchema.safeParse(m[2]).success) return null;
  return { robotId: m[2], channel };
}

// ---------------------------------------------------------------- payloads

const finite = z.number().refine(Number.isFinite, 'expected a finite number');
const seqSchema = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** A setpoint: named physical quantities (m/s, rad/s, N) or a named primitive (gripper). */
export const setpointSchema = z
  .record(z.string().max(64).regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'expected a setpoint field name'), z.union([finite, z.string().max(64), z.boolean()]))
  .refine((r) => Object.keys(r).length <= 64, 'expected at most 64 setpoint fields')
  // The task's parseSetpoint is the real check; this one only keeps prototype names off the wire.
  .refine((r) => !['__proto__', 'constructor', 'prototype'].some((k) => Object.hasOwn(r, k)), 'expected no prototype field names');
export type SetpointWire = z.infer<typeof setpointSchema>;

/** Episode bookkeeping a simulated device adds to its state (a real robot leaves it out). */
export const episodeInfoSchema = z.object({
  index: z.number().int().min(0),
  step: z.number().int().min(0),
  terminated: z.boolean().default(false),
  truncated: z.boolean().default(false),
  reason: z.string().max(128).optional(),
});

export const statePayload = z.object({
  /** The TaskModel's state as JSON (typed arrays as arrays); the task's parseState checks it. */
  state: z.record(z.string(), z.unknown()),
  /** seq of the `cmd` this state follows, so the ground station can measure round trips. */
  cmdSeq: seqSchema.optional(),
  episode: episodeInfoSchema.optional(),
});

export const cmdPayload = z.object({
  setpoint: setpointSchema,
  /** The robot holds when no newer valid cmd arrives within ttlMs. */
  ttlMs: z.number().int().min(1).max(10_000),
  policyId: z.string().max(128),
  /** seq of the `state` this command answers. */
  stateSeq: seqSchema.optional(),
});

export const MODES = ['idle', 'remote', 'policy', 'hold', 'landing', 'stopped', 'estop'] as const;
export const statusPayload = z.object({
  online: z.boolean(),
  mode: z.enum(MODES),
  policyId: z.string().max(128).nullable(),
  driver: z.string().max(64).optional(),
});

export const estopPayload = z.object({
  engaged: z.boolean(),
  reason: z.string().max(256),
});

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'expected a lowercase hex sha256');
const fileName = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,128}$/, 'expected a plain file name')
  .refine((s) => s !== '.' && s !== '..', 'expected a plain file name');

/** policy channel: `policy.begin`, then `policy.chunk`s, then `policy.commit`. */
export const policyBeginPayload = z.object({
  deployId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  policyId: z.string().max(128),
  files: z
    .array(z.object({ name: fileName, size: z.number().int().min(0).max(512 * 1024 * 1024), sha256: sha256Hex, chunks: z.number().int().min(0) }))
    .min(1)
    .max(64),
});
export const policyChunkPayload = z.object({
  deployId: z.string().max(64),
  file: fileName,
  index: z.number().int().min(0),
  /** base64 in JSON; raw bytes are also accepted in CBOR. */
  data: z.union([z.string().max(MAX_PAYLOAD_BYTES), z.instanceof(Uint8Array)]),
});
export const policyCommitPayload = z.object({ deployId: z.string().max(64) });

/** Why a `policy.begin` cannot be accepted under DEPLOY_LIMITS, or null. */
export function checkDeployBegin(p: Pick<z.infer<typeof policyBeginPayload>, 'files'>): string | null {
  const L = DEPLOY_LIMITS;
  if (p.files.length > L.maxFiles) return `${p.files.length} files, at most ${L.maxFiles} per deployment`;
  const names = new Set<string>();
  let total = 0;
  let chunks = 0;
  for (const f of p.files) {
    if (names.has(f.name)) return `file ${f.name} listed twice`;
    names.add(f.name);
    if (f.size > L.maxFileBytes) return `file ${f.name}: ${f.size} bytes, at most ${L.maxFileBytes}`;
    // Every chunk holds at least one byte and at most maxChunkBytes: the count follows from the size.
    const least = Math.ceil(f.size / L.maxChunkBytes);
    if (f.chunks < least || f.chunks > f.size) return `file ${f.name}: ${f.chunks} chunks for ${f.size} bytes (expected ${least}..${f.size})`;
    total += f.size;
    chunks += f.chunks;
  }
  if (!names.has('manifest.json')) return 'no manifest.json in the deployment';
  if (total > L.maxTotalBytes) return `deployment of ${total} bytes, at most ${L.maxTotalBytes}`;
  if (chunks > L.maxChunks) return `deployment of ${chunks} chunks, at most ${L.maxChunks}`;
  return null;
}

export const ACK_STATUSES = ['ready', 'missing', 'activated', 'rejected'] as const;
export const policyAckPayload = z.object({
  deployId: z.string().max(64),
  status: z.enum(ACK_STATUSES),
  policyId: z.string().max(128).optional(),
  /** For `missing`: which chunks to resend, as "file:index". */
  missing: z.array(z.string().max(160)).max(4096).optional(),
  reason: z.string().max(1024).optional(),
});

export const eventPayload = z.object({
  kind: z.string().max(64),
  severity: z.enum(['info', 'warn', 'error']),
  detail: z.string().max(1024),
  /** Running totals of rejected messages per reason, when the event reports rejections. */
  counts: z.record(z.string(), z.number().int().min(0)).optional(),
});

/** Message type → payload schema, and which channel each may travel on. */
export const MESSAGE_TYPES = {
  state: { channel: 'state', payload: statePayload },
  cmd: { channel: 'cmd', payload: cmdPayload },
  status: { channel: 'status', payload: statusPayload },
  estop: { channel: 'estop', payload: estopPayload },
  'policy.begin': { channel: 'policy', payload: policyBeginPayload },
  'policy.chunk': { channel: 'policy', payload: policyChunkPayload },
  'policy.commit': { channel: 'policy', payload: policyCommitPayload },
  'policy.ack': { channel: 'policy/ack', payload: policyAckPayload },
  event: { channel: 'events', payload: eventPayload },
} as const satisfies Record<string, { channel: Channel; payload: z.ZodType }>;
export type MessageType = keyof typeof MESSAGE_TYPES;
export type PayloadOf<T extends MessageType> = z.infer<(typeof MESSAGE_TYPES)[T]['payload']>;

/** The outer shape every message shares. */
export const envelopeSchema = z.object({
  v: z.number(),
  type: z.string().max(32),
  robotId: z.string().max(64),
  seq: seqSchema,
  /** Sender's wall clock, ms since the Unix epoch (NTP-synchronised clocks assumed). */
  tMs: finite,
  payload: z.unknown(),
});

export interface Envelope<T extends MessageType = MessageType> {
  v: typeof PROTOCOL_VERSION;
  type: T;
  robotId: string;
  seq: number;
  tMs: number;
  payload: PayloadOf<T>;
}

// ---------------------------------------------------------------- codecs

/** One interface for both encodings. */
export interface Codec {
  readonly name: 'json' | 'cbor';
  encode(value: unknown): Buffer;
  decode(bytes: Uint8Array): unknown;
}

export const jsonCodec: Codec = {
  name: 'json',
  encode: (value) => Buffer.from(JSON.stringify(value, typedArraysAsArrays)),
  decode: (bytes) => JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')),
};

export const cborCodec: Codec = {
  name: 'cbor',
  encode: (value) => Buffer.from(cborEncode(value)),
  decode: (bytes) => cborDecode(bytes),
};

export function codecByName(name: string): Codec {
  if (name === 'json') return jsonCodec;
  if (name === 'cbor') return cborCodec;
  throw new Error(`unknown codec "${name}": expected json or cbor`);
}

/** JSON writes Float32Array as {"0":..}; send arrays instead. */
function typedArraysAsArrays(_key: string, value: unknown): unknown {
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return Array.from(value as unknown as ArrayLike<number>);
  return value;
}

/**
 * Which codec wrote these bytes: an envelope is an object, so JSON starts with `{` (after
 * optional whitespace) and CBOR with a map header (major type 5: 0xa0–0xbf).
 */
export function sniffCodec(bytes: Uint8Array): Codec | null {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d) continue;
    if (b === 0x7b) return jsonCodec;
    if (b >= 0xa0 && b <= 0xbf) return cborCodec;
    return null;
  }
  return null;
}

// ---------------------------------------------------------------- decoding

/** Why a message was dropped. Every reason is counted and reported on `events`. */
export const REJECT_REASONS = [
  'oversized',
  'malformed',
  'schema',
  'version',
  'robot-id',
  'wrong-type',
  'out-of-order',
  'stale',
  'capacity',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export type Decoded<T extends MessageType = MessageType> =
  | { ok: true; msg: Envelope<T> }
  | { ok: false; reason: RejectReason; detail: string };

/**
 * Decode and check one payload received on `channel` of `robotId`'s topics. Stateless
 * checks only (size, encoding, schema, version, robot id, type↔channel); ordering and
 * freshness are the MessageGate's (safety.ts). Never throws.
 */
export function decodeMessage(bytes: Uint8Array, expect: { robotId: string; channel: Channel; maxBytes?: number }): Decoded {
  const maxBytes = expect.maxBytes ?? MAX_PAYLOAD_BYTES;
  if (bytes.byteLength > maxBytes) return { ok: false, reason: 'oversized', detail: `${bytes.byteLength} bytes > ${maxBytes}` };
  const codec = sniffCodec(bytes);
  if (!codec) return { ok: false, reason: 'malformed', detail: 'neither a JSON object nor a CBOR map' };
  let raw: unknown;
  try {
    raw = codec.decode(bytes);
  } catch (err) {
    return { ok: false, reason: 'malformed', detail: `${codec.name}: ${(err as Error).message}`.slice(0, 200) };
  }
  const outer = envelopeSchema.safeParse(raw);
  if (!outer.success) return { ok: false, reason: 'schema', detail: issueText(outer.error) };
  const env = outer.data;
  if (env.v !== PROTOCOL_VERSION) return { ok: false, reason: 'version', detail: `v=${env.v}, expected ${PROTOCOL_VERSION}` };
  if (env.robotId !== expect.robotId) return { ok: false, reason: 'robot-id', detail: `robotId "${env.robotId.slice(0, 64)}" on ${expect.robotId}'s topic` };
  // Own keys only: a type such as "constructor" or "__proto__" must not find Object.prototype.
  const def = Object.hasOwn(MESSAGE_TYPES, env.type) ? (MESSAGE_TYPES as Record<string, { channel: Channel; payload: z.ZodType }>)[env.type] : undefined;
  if (!def || def.channel !== expect.channel) return { ok: false, reason: 'wrong-type', detail: `type "${env.type}" on channel ${expect.channel}` };
  const inner = def.payload.safeParse(env.payload);
  if (!inner.success) return { ok: false, reason: 'schema', detail: `${env.type}: ${issueText(inner.error)}` };
  return { ok: true, msg: { ...env, v: PROTOCOL_VERSION, type: env.type as MessageType, payload: inner.data } as Envelope };
}

function issueText(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ')
    .slice(0, 300);
}

/** Build an envelope; the sender owns seq (strictly increasing) and the clock. */
export function makeEnvelope<T extends MessageType>(type: T, robotId: string, seq: number, payload: PayloadOf<T>, tMs = Date.now()): Envelope<T> {
  return { v: PROTOCOL_VERSION, type, robotId, seq, tMs, payload };
}

/**
 * A sender's sequence counter. It starts at the wall clock in ms so that a restarted
 * sender keeps counting upwards and its receivers never see it go backwards.
 */
export class SeqCounter {
  private value: number;
  constructor(start = Date.now()) {
    this.value = start;
  }
  next(): number {
    return ++this.value;
  }
}
