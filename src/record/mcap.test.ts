import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Frame, SceneDescription } from '../core/frames.js';
import { createEnv } from '../../sim/registry.js';
import { createScripted } from '../../controllers/registry.js';
import { createMcapSink } from './mcap-sink.js';
import { EPISODE_METADATA, TOPICS } from './episode-writer.js';
import { openMcap, readEpisode } from './mcap-reader.js';
import { recordingErrors, strictSchema } from './validate.test-helper.js';
import { EMBODY_FRAME_SCHEMA } from './schemas.js';
import { DISPLAY_HZ } from './inline-sink.js';
import { JsonBytes } from './json-bytes.js';
import { encodeFrame } from './frame-codec.js';
import { FrameBatch, unpackFrames } from './worker-protocol.js';
import { COLUMN_STEP } from './foxglove.js';

const STEPS = [40, 25];
let dir: string;
let scene: SceneDescription;
const given: Frame[][] = [];
const givenMetrics: Record<string, number>[] = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'embody-mcap-'));
  const env = await createEnv('uav-small', { seed: 3 });
  const controller = await createScripted('greedy', env.spec, { seed: 3, model: env.model });
  const sink = createMcapSink(path.join(dir, 'episodes'));
  scene = env.describe();
  await sink.describe(scene);
  for (let ep = 0; ep < STEPS.length; ep++) {
    let { obs } = env.reset();
    const frames: Frame[] = [];
    for (let i = 0; i < STEPS[ep]; i++) {
      obs = env.step(controller.act(obs)).obs;
      const f = env.frame(ep);
      frames.push({ ...f, poses: f.poses.slice() });
      // Not awaited on purpose: the sink must queue calls in order.
      void sink.frame(f);
    }
    await sink.flush();
    // Atomic: until the episode ends only a temp file exists.
    expect(existsSync(path.join(dir, 'episodes', `000${ep}.mcap`))).toBe(false);
    const metrics = env.model.metrics(env.state);
    givenMetrics.push(metrics);
    await sink.endEpisode!(ep, metrics);
    given.push(frames);
  }
  await sink.close!();
  expect(sink.written.map((f) => path.basename(f))).toEqual(['0000.mcap', '0001.mcap']);
  env.close();
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('MCAP episode recording', () => {
  it('writes one file per episode, atomically (no temp files left)', () => {
    expect(readdirSync(path.join(dir, 'episodes')).sort()).toEqual(['0000.mcap', '0001.mcap']);
  });

  it('reads back with @mcap/core McapIndexedReader: every channel, schema and message count', async () => {
    for (let ep = 0; ep < STEPS.length; ep++) {
      const n = STEPS[ep];
      const { reader, readable } = await openMcap(path.join(dir, 'episodes', `000${ep}.mcap`));
      try {
        const channels = [...reader.channelsById.values()];
        const schemaOf = (topic: string) => {
          const c = channels.find((ch) => ch.topic === topic)!;
          const s = reader.schemasById.get(c.schemaId)!;
          return { name: s.name, encoding: s.encoding, messageEncoding: c.messageEncoding };
        };
        expect(channels.map((c) => c.topic).sort()).toEqual(Object.values(TOPICS).sort());
        expect(schemaOf(TOPICS.scene)).toEqual({ name: 'foxglove.SceneUpdate', encoding: 'jsonschema', messageEncoding: 'json' });
        expect(schemaOf(TOPICS.overlay).name).toBe('foxglove.SceneUpdate');
        expect(schemaOf(TOPICS.tf)).toEqual({ name: 'foxglove.FrameTransforms', encoding: 'jsonschema', messageEncoding: 'json' });
        expect(schemaOf(TOPICS.embodyFrame).name).toBe('embody.Frame');
        expect(schemaOf(TOPICS.embodyScene).name).toBe('embody.SceneDescription');

        const counts: Record<string, number> = {};
        const topicOf = new Map(channels.map((c) => [c.id, c.topic]));
        const dec = new TextDecoder();
        let lastTime = -1n;
        for await (const m of reader.readMessages()) {
          const topic = topicOf.get(m.channelId)!;
          counts[topic] = (counts[topic] ?? 0) + 1;
          expect(m.logTime >= lastTime).toBe(true);
          lastTime = m.logTime;
        }
        // The scene once; tf and frame once per step; overlays at the start and when they change.
        const overlays = counts[TOPICS.overlay];
        delete counts[TOPICS.overlay];
        expect(counts).toEqual({ [TOPICS.scene]: 1, [TOPICS.embodyScene]: 1, [TOPICS.tf]: n, [TOPICS.embodyFrame]: n });
        expect(overlays).toBeGreaterThanOrEqual(2);
        expect(overlays).toBeLessThanOrEqual(n + 2);
        expect(Number(reader.statistics!.messageCount)).toBe(2 * n + 2 + overlays);
        // What Foxglove shows at the end (later entities replace earlier ones with the same id):
        // each device column matches the data the device still holds, to the drawing step.
        const entities = new Map<string, any>();
        for await (const m of reader.readMessages({ topics: [TOPICS.overlay] })) {
          for (const e of JSON.parse(dec.decode(m.data)).entities) entities.set(e.id, e);
        }
        const remaining = given[ep][n - 1].overlay.remaining as number[];
        expect(remaining.some((r) => r < 0.9)).toBe(true);
        remaining.forEach((r, k) => {
          const shown = Number(entities.get(`uav/device/${k}`).metadata.find((kv: any) => kv.key === 'remaining').value);
          expect(Math.abs(shown - r)).toBeLessThanOrEqual(COLUMN_STEP / 2 + 1e-9);
        });
        // The trail's chunks together hold every UAV position of the episode.
        const trailPoints = [...entities.keys()].filter((id) => id.startsWith('uav/trail/')).reduce((s, id) => s + entities.get(id).lines[0].points.length - 1, 1);
        expect(trailPoints).toBe(n);
        const meta = [];
        for await (const m of reader.readMetadata({ name: EPISODE_METADATA })) meta.push(m);
        expect(meta).toHaveLength(1);
        expect(meta[0].metadata.get('frames')).toBe(String(n));
      } finally {
        await readable.close();
      }
    }
  });

  it('replays exactly what was recorded: scene, poses, HUD, overlays and metrics', async () => {
    for (let ep = 0; ep < STEPS.length; ep++) {
      const rec = await readEpisode(path.join(dir, 'episodes', `000${ep}.mcap`));
      expect(rec.scene).toEqual(JSON.parse(JSON.stringify(scene)));
      expect(rec.frames).toHaveLength(STEPS[ep]);
      rec.frames.forEach((f, i) => {
        const g = given[ep][i];
        expect(f.t).toBeCloseTo(g.t, 9);
        expect(f.episode).toBe(ep);
        expect(f.bodyIds).toEqual(g.bodyIds);
        f.poses.forEach((v, k) => expect(Math.abs(v - g.poses[k])).toBeLessThan(1e-4));
        expect(f.overlay).toEqual(JSON.parse(JSON.stringify(g.overlay)));
        expect(f.hud).toEqual(g.hud);
        expect(f.return).toBe(g.return);
      });
      // The UAV moved: the recording is not a frozen frame.
      const a = rec.frames[0].poses;
      const b = rec.frames[rec.frames.length - 1].poses;
      expect(Math.hypot(a[0] - b[0], a[1] - b[1])).toBeGreaterThan(5);
      for (const [k, v] of Object.entries(givenMetrics[ep])) expect(rec.metrics![k]).toBeCloseTo(v, 6);
    }
  });

  it('every message validates against the official @foxglove/schemas (ajv) and the stored schema text is theirs', async () => {
    for (let ep = 0; ep < STEPS.length; ep++) {
      const { errors, counts } = await recordingErrors(path.join(dir, 'episodes', `000${ep}.mcap`));
      expect(errors.slice(0, 5)).toEqual([]);
      expect(counts[TOPICS.overlay]).toBeGreaterThan(1);
    }
  });

  it('the validator catches wrong messages', async () => {
    const { Ajv } = await import('ajv');
    const { SceneUpdate, FrameTransforms } = await import('@foxglove/schemas/jsonschema.js');
    const ajv = new Ajv({ strict: false, allErrors: true });
    const tf = ajv.compile(strictSchema(FrameTransforms));
    expect(tf({ transforms: [{ translation: { x: 'a' } }] })).toBe(false);
    expect(tf.errors!.map((e) => `${e.instancePath} ${e.message}`)).toContain('/transforms/0/translation/x must be number');
    // What the issue found: an entity without its empty primitive lists.
    const scene = ajv.compile(strictSchema(SceneUpdate));
    expect(scene({ deletions: [], entities: [{ timestamp: { sec: 0, nsec: 0 }, frame_id: 'world', id: 'a', lifetime: { sec: 0, nsec: 0 }, frame_locked: false, metadata: [], lines: [] }] })).toBe(false);
    expect(scene.errors!.map((e) => e.message)).toContain("must have required property 'arrows'");
    // A typo is caught too (the strict copy forbids properties the schema does not list).
    expect(scene({ deletions: [], entities: [], frameId: 'world' })).toBe(false);
    const frame = ajv.compile(EMBODY_FRAME_SCHEMA);
    expect(frame({ t: 0 })).toBe(false);
    expect(frame.errors!.map((e) => e.message)).toContain("must have required property 'episode'");
  });

  it('refuses a frame before the scene, and a non-MCAP file', async () => {
    const inline = createMcapSink(path.join(dir, 'other'), { worker: false });
    await expect(inline.frame(given[0][0])).rejects.toThrow(/before describe/);
    // In the worker, the error surfaces at the next flush or close.
    const threaded = createMcapSink(path.join(dir, 'other'));
    await threaded.frame(given[0][0]);
    await expect(threaded.flush()).rejects.toThrow(/before describe/);
    await expect(threaded.close!()).rejects.toThrow(/before describe/);
    const junk = path.join(dir, 'junk.mcap');
    writeFileSync(junk, 'not an mcap file at all, just some text that is long enough');
    await expect(readEpisode(junk)).rejects.toThrow(/not a readable MCAP file/);
  });
});

describe('MCAP recording of the other tasks', () => {
  it.each([
    ['uav-city', 30, 'uav/'],
    ['nav-apartment', 15, 'nav/'],
    ['manip-clutter', 3, 'manipulation/'],
    ['pendulum', 20, null],
    ['cartpole', 20, null],
  ])('%s: every message validates against @foxglove/schemas and the frames read back', async (sceneName, steps, overlayPrefix) => {
    const out = mkdtempSync(path.join(tmpdir(), 'embody-mcap-task-'));
    try {
      const env = await createEnv(sceneName, { seed: 2 });
      const controller = await createScripted('random', env.spec, { seed: 2, model: env.model });
      const sink = createMcapSink(out);
      // Describe after reset: a manipulation world exists (and has its objects) only then.
      let { obs } = env.reset();
      await sink.describe(env.describe());
      const poses: Float32Array[] = [];
      for (let i = 0; i < steps; i++) {
        obs = env.step(controller.act(obs)).obs;
        const f = env.frame(0);
        poses.push(f.poses.slice());
        await sink.frame(f);
      }
      await sink.close!();
      env.close();
      const file = path.join(out, '0000.mcap');
      const { errors, counts, overlayIds } = await recordingErrors(file);
      expect(errors.slice(0, 5)).toEqual([]);
      if (overlayPrefix) expect([...overlayIds].some((id) => id.startsWith(overlayPrefix))).toBe(true);
      const rec = await readEpisode(file);
      // The data channel keeps every frame; /tf (a display channel) one per 1/30 s of sim time.
      expect(rec.frames).toHaveLength(steps);
      expect(counts[TOPICS.embodyFrame]).toBe(steps);
      const slots = new Set(rec.frames.map((f) => Math.floor(f.t * DISPLAY_HZ + 1e-6)));
      expect(counts[TOPICS.tf]).toBe(slots.size);
      if (sceneName === 'cartpole') expect(counts[TOPICS.tf]).toBeLessThan(steps); // 50 Hz control
      else expect(counts[TOPICS.tf]).toBe(steps);
      rec.frames.forEach((f, i) => f.poses.forEach((v, k) => expect(Math.abs(v - poses[i][k])).toBeLessThan(1e-4)));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

describe('recording encoder', () => {
  it('packs frames byte for byte as the live stream encodes them, and reads the overlay back alone', () => {
    const batch = new FrameBatch();
    const frames = given[0].slice(0, 5);
    for (const f of frames) batch.add(f);
    const { buf, bytes } = batch.take();
    const packed = unpackFrames(buf, bytes);
    expect(packed).toHaveLength(5);
    packed.forEach((p, i) => {
      const f = frames[i];
      const live = encodeFrame(f);
      const head = live.byteLength - p.tail.byteLength;
      expect(Buffer.from(buf, p.tail.byteOffset - head, live.byteLength).equals(Buffer.from(live))).toBe(true);
      expect([p.episode, p.t, p.reward, p.return, Array.from(p.bodyIds)]).toEqual([f.episode, f.t, f.reward, f.return, f.bodyIds]);
      expect(p.poses).toEqual(f.poses);
      expect(p.overlay).toEqual(JSON.parse(JSON.stringify(f.overlay)));
    });
  });

  it('prints poses rounded to 1e-5 exactly as String(Math.round(x * 1e5) / 1e5) does', () => {
    const out = new JsonBytes();
    const dec = new TextDecoder();
    const xs = [0, -0, 1, -1, 0.5, 1e-6, -4e-6, 5e-6, -5e-6, 12.345675, 123456.789012, -98765.43211, 999999999.99999, 1e9, -2e9, 3.4e38, NaN, Infinity, -Infinity];
    let seed = 7;
    for (let i = 0; i < 20000; i++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      xs.push(Math.fround(((seed / 2 ** 31 - 0.5) * 10 ** ((i % 12) - 4))));
    }
    for (const x of xs) {
      const r = Math.round(x * 1e5) / 1e5;
      expect(dec.decode(out.begin(64).fixed5(x).end())).toBe(Number.isFinite(r) ? String(r) : 'null');
    }
  });

  it('writes the display channels at displayHz of sim time, and every frame with Infinity; refuses a bad rate', async () => {
    const out = mkdtempSync(path.join(tmpdir(), 'embody-mcap-rate-'));
    try {
      const env = await createEnv('cartpole', { seed: 1 });
      const controller = await createScripted('random', env.spec, { seed: 1, model: env.model });
      const sinks = { every: createMcapSink(path.join(out, 'every'), { displayHz: Infinity }), ten: createMcapSink(path.join(out, 'ten'), { displayHz: 10, worker: false }) };
      let { obs } = env.reset();
      for (const s of Object.values(sinks)) await s.describe(env.describe());
      for (let i = 0; i < 50; i++) {
        obs = env.step(controller.act(obs)).obs;
        for (const s of Object.values(sinks)) await s.frame(env.frame(0));
      }
      for (const s of Object.values(sinks)) await s.close!();
      env.close();
      const every = await recordingErrors(path.join(out, 'every', '0000.mcap'));
      const ten = await recordingErrors(path.join(out, 'ten', '0000.mcap'));
      expect(every.errors.concat(ten.errors)).toEqual([]);
      expect([every.counts[TOPICS.tf], every.counts[TOPICS.embodyFrame]]).toEqual([50, 50]);
      // Frames at t = 0.02 … 1.00 s: one per 0.1 s slot, slots 0 … 10.
      expect([ten.counts[TOPICS.tf], ten.counts[TOPICS.embodyFrame]]).toEqual([11, 50]);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
    expect(() => createMcapSink(out, { displayHz: 0 })).toThrow(/displayHz must be a positive number/);
    expect(() => createMcapSink(out, { displayHz: Number.NaN, worker: false })).toThrow(/displayHz must be a positive number/);
  });
});
