import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeEnvelope } from './protocol.js';
import { createEnv } from '../sim/registry.js';
import type { UavModel } from '../sim/uav/model.js';
import { EStopLatch, MessageGate, RejectCounter, SetpointGuard, Watchdog } from './safety.js';

const uavEnv = await createEnv('uav-small');
const model = uavEnv.model as UavModel;
const scene = model.scene;
uavEnv.close();
const [Lx, Ly, H] = [scene.area.size[0], scene.area.size[1], scene.area.maxAltitude];
const vmax = scene.uav.maxSpeed;
const state = (pos: [number, number, number], vel: [number, number, number] = [0, 0, 0]) =>
  model.parseState({ t: 0, pos, vel, energyJ: 0, batteryJ: 1e5, remainingBits: model.devicePos.map(() => 1), initialBits: model.devicePos.map(() => 1) });
const mid = (): [number, number, number] => [Lx / 2, Ly / 2, H / 2];

describe('SetpointGuard (through the TaskModel)', () => {
  it('clamps each field to the limits and reports it', () => {
    const g = new SetpointGuard(model, { rateLimit: false });
    const r = g.filter({ vx: 40, vy: -40, vz: 1 }, state(mid()), 0.2);
    expect(r.setpoint).toEqual({ vx: vmax, vy: -vmax, vz: 1 });
    expect(r.events.map((e) => e.kind)).toEqual(['clamp', 'clamp']);
  });
  it('rate-limits changes to rate·dt per step', () => {
    const g = new SetpointGuard(model);
    g.filter({ vx: 0, vy: 0, vz: 0 }, state(mid()), 0.2);
    const r = g.filter({ vx: 10, vy: -10, vz: 0 }, state(mid()), 0.2);
    expect(r.setpoint.vx).toBeCloseTo(scene.uav.maxAccel * 0.2);
    expect(r.setpoint.vy).toBeCloseTo(-scene.uav.maxAccel * 0.2);
    expect(r.events.some((e) => e.kind === 'rate-limit')).toBe(true);
  });
  it('replaces a setpoint that leaves the geofence by hold, with a geofence event', () => {
    const g = new SetpointGuard(model, { horizonS: 1 });
    const r = g.filter({ vx: 10, vy: 0, vz: 0 }, state([Lx - 5, Ly / 2, H / 2]), 0.2);
    expect(r.held).toBe(true);
    expect(r.setpoint).toEqual(model.holdSetpoint());
    expect(r.events.at(-1)!.kind).toBe('geofence');
  });
  it('lets a robot outside the fence fly back in', () => {
    const g = new SetpointGuard(model, { horizonS: 1 });
    expect(g.filter({ vx: -5, vy: 0, vz: 0 }, state([Lx + 5, Ly / 2, H / 2]), 0.2).held).toBe(false);
  });
  it('holds on a non-finite, string, incomplete or inherited-key setpoint', () => {
    const g = new SetpointGuard(model);
    for (const bad of [null, { vx: NaN, vy: 0, vz: 0 }, { vx: '1', vy: 0, vz: 0 }, { vx: 1 }, { vx: 0, vy: 0, vz: 0, constructor: 1 }, JSON.parse('{"vx":0,"vy":0,"vz":0,"__proto__":{"a":1}}')]) {
      const r = g.filter(bad, state([1, 1, 1]), 0.2);
      expect(r.held, JSON.stringify(bad)).toBe(true);
      expect(r.events.at(-1)!.kind).toBe('rejected');
    }
  });
});

describe('MessageGate', () => {
  const env = (seq: number, tMs: number) => makeEnvelope('cmd', 'r1', seq, { setpoint: {}, ttlMs: 250, policyId: 'p' }, tMs);
  it('drops out-of-order seq and stale or future tMs', () => {
    const g = new MessageGate({ maxAgeMs: 500, maxFutureMs: 500 });
    const now = 1_000_000;
    expect(g.check(env(10, now - 10), 'cmd', now).ok).toBe(true);
    expect(g.check(env(10, now - 5), 'cmd', now)).toMatchObject({ ok: false, reason: 'out-of-order' });
    expect(g.check(env(9, now), 'cmd', now)).toMatchObject({ ok: false, reason: 'out-of-order' });
    expect(g.check(env(11, now - 600), 'cmd', now)).toMatchObject({ ok: false, reason: 'stale' });
    expect(g.check(env(12, now + 600), 'cmd', now)).toMatchObject({ ok: false, reason: 'stale' });
    expect(g.check(env(13, now), 'cmd', now).ok).toBe(true);
  });
  it('accepts a restarted sender (lower seq) only after a silence', () => {
    const g = new MessageGate({ maxAgeMs: 500, seqResetGapMs: 2000 });
    expect(g.check(env(100, 1000), 'cmd', 1000).ok).toBe(true);
    expect(g.check(env(1, 1500), 'cmd', 1500).ok).toBe(false);
    expect(g.check(env(1, 3100), 'cmd', 3100).ok).toBe(true);
  });
});

describe('Watchdog', () => {
  it('holds once the ttl passes without a cmd, and lands after landAfterMs of hold', () => {
    const w = new Watchdog(3000);
    w.feed(250, 0);
    expect(w.check(250)).toBe('ok');
    expect(w.check(251)).toBe('hold');
    expect(w.check(3249)).toBe('hold');
    expect(w.check(3250)).toBe('land');
    w.feed(250, 4000);
    expect(w.check(4100)).toBe('ok');
  });
  it('starts expired (hold) at boot, not landed', () => {
    const w = new Watchdog(3000);
    w.expire(0);
    expect(w.check(10)).toBe('hold');
  });
});

describe('EStopLatch', () => {
  it('engage wins; only a newer explicit release clears it; the latch survives a restart', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'estop-'));
    const file = path.join(dir, 'estop.json');
    const a = new EStopLatch(file);
    expect(a.apply({ engaged: true, reason: 'operator' }, 1000, 1000)?.kind).toBe('estop');
    expect(a.apply({ engaged: false, reason: 'old release' }, 900, 1100)?.detail).toMatch(/refused \(not-newer\)/);
    expect(a.apply({ engaged: false, reason: 'release from the future' }, 99_000, 1100)?.detail).toMatch(/refused \(future\)/);
    expect(a.engaged).toBe(true);
    const b = new EStopLatch(file);
    expect(b.engaged).toBe(true);
    expect(b.apply({ engaged: false, reason: 'clear' }, 2000, 2000)?.kind).toBe('estop-release');
    expect(new EStopLatch(file).engaged).toBe(false);
  });
  it('an engagement stamped in the future is stamped with our clock, so a release now still works', () => {
    const l = new EStopLatch();
    l.apply({ engaged: true, reason: 'skewed clock' }, 60_000, 1000);
    expect(l.apply({ engaged: false, reason: 'clear' }, 1200, 1200)?.kind).toBe('estop-release');
  });
  it('a corrupt latch file fails safe (engaged)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'estop-'));
    const file = path.join(dir, 'estop.json');
    writeFileSync(file, '{not json');
    expect(new EStopLatch(file).engaged).toBe(true);
  });
});

describe('RejectCounter', () => {
  it('counts every rejection but reports at most once per interval', () => {
    const c = new RejectCounter(1000);
    let reports = 0;
    for (let i = 0; i < 500; i++) if (c.add(i % 2 ? 'stale' : 'malformed', 'x', 5000 + i)) reports++;
    expect(c.total).toBe(500);
    expect(c.counts.stale).toBe(250);
    expect(reports).toBe(1);
    expect(c.due(6100)).not.toBeNull();
  });
});
