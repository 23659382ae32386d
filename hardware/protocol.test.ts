import { describe, expect, it } from 'vitest';
import {
  cborCodec,
  decodeMessage,
  jsonCodec,
  makeEnvelope,
  MAX_PAYLOAD_BYTES,
  parseTopic,
  sniffCodec,
  topicFor,
  wildcardTopic,
} from './protocol.js';

const cmd = (over: Record<string, unknown> = {}) => ({
  ...makeEnvelope('cmd', 'r1', 7, { setpoint: { vx: 1, vy: -2, vz: 0.5 }, ttlMs: 250, policyId: 'p' }),
  ...over,
});

describe('topics', () => {
  it('builds and parses versioned topics, including the two-level policy/ack', () => {
    expect(topicFor('uav-1', 'cmd')).toBe('embody/v1/uav-1/cmd');
    expect(parseTopic('embody/v1/uav-1/policy/ack')).toEqual({ robotId: 'uav-1', channel: 'policy/ack' });
    expect(wildcardTopic('state')).toBe('embody/v1/+/state');
  });
  it('refuses other versions, unknown channels and ids that could widen a subscription', () => {
    expect(parseTopic('embody/v2/uav-1/cmd')).toBeNull();
    expect(parseTopic('embody/v1/uav-1/teleport')).toBeNull();
    expect(parseTopic('embody/v1/+/cmd')).toBeNull();
    expect(parseTopic('other/v1/a/cmd')).toBeNull();
  });
});

describe('codecs', () => {
  it('JSON and CBOR round-trip an envelope and are told apart by their first byte', () => {
    const env = cmd();
    for (const codec of [jsonCodec, cborCodec]) {
      const bytes = codec.encode(env);
      expect(sniffCodec(bytes)).toBe(codec);
      const d = decodeMessage(bytes, { robotId: 'r1', channel: 'cmd' });
      expect(d.ok).toBe(true);
      if (d.ok) expect(d.msg.payload).toEqual(env.payload);
    }
  });
  it('JSON sends typed arrays as arrays', () => {
    const bytes = jsonCodec.encode({ a: new Float32Array([1.5, 2]) });
    expect(JSON.parse(bytes.toString())).toEqual({ a: [1.5, 2] });
  });
});

describe('decodeMessage rejects, each with its reason, and never throws', () => {
  const expectReason = (bytes: Uint8Array, reason: string, channel: 'cmd' | 'state' = 'cmd') => {
    const d = decodeMessage(bytes, { robotId: 'r1', channel });
    expect(d.ok).toBe(false);
    if (!d.ok) expect(d.reason).toBe(reason);
  };
  it('oversized', () => expectReason(Buffer.alloc(MAX_PAYLOAD_BYTES + 1, 0x20), 'oversized'));
  it('malformed JSON and non-object bytes', () => {
    expectReason(Buffer.from('{"v":1,'), 'malformed');
    expectReason(Buffer.from('[1,2]'), 'malformed');
    expectReason(Buffer.from([0xff, 0x00]), 'malformed');
    expectReason(Buffer.alloc(0), 'malformed');
  });
  it('wrong version', () => expectReason(jsonCodec.encode(cmd({ v: 2 })), 'version'));
  it('wrong robot id', () => expectReason(jsonCodec.encode(cmd({ robotId: 'r2' })), 'robot-id'));
  it('a type on the wrong channel', () => expectReason(jsonCodec.encode(cmd()), 'wrong-type', 'state'));
  it('schema: missing fields, non-finite numbers, negative seq', () => {
    expectReason(jsonCodec.encode({ ...cmd(), payload: { setpoint: {}, policyId: 'p' } }), 'schema');
    expectReason(Buffer.from(JSON.stringify(cmd()).replace('"vx":1', '"vx":1e999')), 'schema');
    expectReason(jsonCodec.encode(cmd({ seq: -1 })), 'schema');
    expectReason(jsonCodec.encode(cmd({ payload: null })), 'schema');
  });
});

describe('decode fuzz on every channel (in process)', () => {
  it('2,000 random and mutated payloads per channel: never throws; each is rejected with a reason or valid', async () => {
    const { fuzzPayloads } = await import('./fuzz.js');
    const { CHANNELS, REJECT_REASONS } = await import('./protocol.js');
    let total = 0;
    for (const channel of CHANNELS) {
      let valid = 0;
      for (const p of fuzzPayloads(channel, 'r1', 2000, 99)) {
        const d = decodeMessage(p, { robotId: 'r1', channel });
        total++;
        if (d.ok) valid++;
        else expect(REJECT_REASONS).toContain(d.reason);
      }
      // The fuzz mixes in valid messages: some must pass, most must not.
      expect(valid).toBeGreaterThan(50);
      expect(valid).toBeLessThan(1000);
    }
    expect(total).toBe(2000 * CHANNELS.length);
  });
});
