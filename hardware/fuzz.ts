import { encode as cborEncode } from 'cbor-x';
import { Rng } from '../src/core/rng.js';
import { jsonCodec, makeEnvelope, MAX_PAYLOAD_BYTES, type Channel } from './protocol.js';

/**
 * Payloads for fuzzing a channel: random bytes, valid messages, and valid messages mutated
 * byte-wise and structurally (wrong version, robot id, types, seq, tMs, nesting, encoding,
 * size). Deterministic for a seed. Used by the integration tests.
 */

function template(channel: Channel, robotId: string, rng: Rng): Record<string, any> {
  const seq = Date.now() * 10 + rng.int(1000);
  switch (channel) {
    case 'cmd':
      return makeEnvelope('cmd', robotId, seq, { setpoint: { vx: rng.uniform(-20, 20), vy: rng.uniform(-20, 20), vz: rng.uniform(-5, 5) }, ttlMs: 250, policyId: 'fuzz' });
    case 'estop':
      return makeEnvelope('estop', robotId, seq, { engaged: rng.next() < 0.5, reason: 'fuzz' });
    case 'policy': {
      const k = rng.int(3);
      if (k === 0) return makeEnvelope('policy.begin', robotId, seq, { deployId: 'fuzz1', policyId: 'p', files: [{ name: 'manifest.json', size: 10, sha256: 'a'.repeat(64), chunks: 1 }] });
      if (k === 1) return makeEnvelope('policy.chunk', robotId, seq, { deployId: 'fuzz1', file: 'manifest.json', index: 0, data: Buffer.from('{"x":1}').toString('base64') });
      return makeEnvelope('policy.commit', robotId, seq, { deployId: 'fuzz1' });
    }
    case 'policy/ack':
      return makeEnvelope('policy.ack', robotId, seq, { deployId: 'fuzz1', status: 'ready' });
    case 'status':
      return makeEnvelope('status', robotId, seq, { online: true, mode: 'remote', policyId: null });
    case 'events':
      return makeEnvelope('event', robotId, seq, { kind: 'x', severity: 'info', detail: 'fuzz' });
    case 'state': {
      const K = 6;
      return makeEnvelope('state', robotId, seq, {
        state: {
          t: rng.uniform(0, 100),
          pos: [rng.uniform(-10, 210), rng.uniform(-10, 210), rng.uniform(-5, 130)],
          vel: [rng.normal(), rng.normal(), rng.normal()],
          energyJ: rng.uniform(0, 1000),
          batteryJ: 60000,
          remainingBits: Array.from({ length: K }, () => rng.uniform(0, 3e7)),
          initialBits: Array.from({ length: K }, () => 3e7),
        },
      });
    }
  }
}

const WEIRD: unknown[] = [null, true, 0, -1, 1.5, 1e308, -1e308, '', 'x'.repeat(300), [], {}, [1, 2, 3], { a: { b: { c: 1 } } }, 'NaN', '1', Number.MAX_SAFE_INTEGER + 2];

function mutateStructure(obj: Record<string, any>, rng: Rng, robotId: string): Record<string, any> {
  const o = JSON.parse(JSON.stringify(obj));
  const k = rng.int(12);
  const pick = <T>(a: T[]) => a[rng.int(a.length)];
  if (k === 0) o.v = pick([0, 2, '1', 1.0001, null]);
  else if (k === 1) o.robotId = pick(['', robotId + 'x', 'r-other', 42, '#', '+']);
  else if (k === 2) o.type = pick(['cmd', 'state', 'estop', 'policy.begin', 'policy.chunk', 'status', 'event', 'nope', '', 7]);
  else if (k === 3) o.seq = pick([-1, 0.5, 'ten', null, 1e300, 0, 1]);
  else if (k === 4) o.tMs = pick([0, Date.now() - 60_000, Date.now() + 60_000, 'now', null, NaN, Date.now() - 600]);
  else if (k === 5) delete o[pick(Object.keys(o))];
  else if (k === 6) o.payload = pick(WEIRD);
  else if (k === 7 && o.payload && typeof o.payload === 'object') {
    const keys = Object.keys(o.payload);
    if (keys.length) o.payload[pick(keys)] = pick(WEIRD);
  } else if (k === 8 && o.payload && typeof o.payload === 'object') {
    const keys = Object.keys(o.payload);
    if (keys.length) delete o.payload[pick(keys)];
  } else if (k === 9) o.__proto__ = { polluted: true };
  else if (k === 10) o.extra = pick(WEIRD);
  else o.seq = Date.now() * 10 + rng.int(1e6); // may be valid
  return o;
}

function mutateBytes(bytes: Buffer, rng: Rng): Buffer {
  const b = Buffer.from(bytes);
  const k = rng.int(5);
  if (b.length === 0) return Buffer.from([rng.int(256)]);
  if (k === 0) {
    for (let i = 0, n = 1 + rng.int(4); i < n; i++) b[rng.int(b.length)] = rng.int(256);
    return b;
  }
  if (k === 1) return b.subarray(0, rng.int(b.length));
  if (k === 2) {
    const at = rng.int(b.length);
    return Buffer.concat([b.subarray(0, at), Buffer.from([rng.int(256)]), b.subarray(at)]);
  }
  if (k === 3) return Buffer.concat([b, b]);
  const at = rng.int(b.length);
  return Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
}

export function fuzzPayloads(channel: Channel, robotId: string, n: number, seed: number): Buffer[] {
  const rng = new Rng(seed);
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const r = rng.next();
    const t = template(channel, robotId, rng);
    if (r < 0.1) {
      out.push(Buffer.from(Array.from({ length: rng.int(200) }, () => rng.int(256))));
    } else if (r < 0.2) {
      out.push(jsonCodec.encode(t)); // valid when sent (may go stale or out of order in transit)
    } else if (r < 0.45) {
      out.push(mutateBytes(jsonCodec.encode(t), rng));
    } else if (r < 0.75) {
      out.push(Buffer.from(JSON.stringify(mutateStructure(t, rng, robotId))));
    } else if (r < 0.85) {
      out.push(Buffer.from(cborEncode(rng.next() < 0.5 ? t : mutateStructure(t, rng, robotId))));
    } else if (r < 0.9) {
      out.push(mutateBytes(Buffer.from(cborEncode(t)), rng));
    } else if (r < 0.93) {
      const depth = 100 + rng.int(20000);
      out.push(Buffer.from('{"v":' + '['.repeat(depth) + ']'.repeat(depth) + '}'));
    } else if (r < 0.935) {
      out.push(Buffer.concat([Buffer.from('{"pad":"'), Buffer.alloc(MAX_PAYLOAD_BYTES + 10, 0x61), Buffer.from('"}')]));
    } else {
      const s = JSON.stringify(t);
      const cut = rng.int(s.length);
      out.push(Buffer.from(s.slice(0, cut) + ['"', '}', ',', ':', '\\u0000', '💥', 'null'][rng.int(7)] + s.slice(cut)));
    }
  }
  return out;
}
