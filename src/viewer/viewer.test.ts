import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScripted } from '../../controllers/registry.js';
import { createEnv } from '../../sim/registry.js';
import type { Frame, SceneDescription } from '../core/frames.js';
import { readEpisode } from '../record/mcap-reader.js';
import { createMcapSink } from '../record/mcap-sink.js';
import { distinctColours, launchChromium, openViewer, pixelDiff, sampleCanvas } from './browser.js';
import { decodeFrame, encodeFrame } from './frame-codec.js';
import { startLiveViewer, type LiveViewer } from './live.js';
import { startViewerServer } from './server.js';

/**
 * The viewer in a real headless Chromium (SwiftShader WebGL), fed by a real UAV env.
 * Screenshots go to test-output/viewer/ (CI keeps them); with EMBODY_UPDATE_SCREENSHOTS=1
 * they are also copied to docs/screenshots/ for the README.
 */
const OUT = path.resolve('test-output/viewer');
const RUN_ID = '20261127-030000-uav-small-greedy-s7';
const RUN_ID_2 = '20261127-020000-uav-small-sac-s2';
const RUN_ID_3 = '20261127-021000-uav-small-sac-s3';
const RUN_ID_CARTPOLE = '20261126-010000-cartpole-dqn-s0';
let runsDir: string;
let viewer: LiveViewer;
let browser: Browser;

async function shot(page: Page, name: string, forDocs = true): Promise<void> {
  const file = path.join(OUT, `${name}.png`);
  await page.screenshot({ path: file });
  if (forDocs && process.env.EMBODY_UPDATE_SCREENSHOTS === '1') {
    mkdirSync('docs/screenshots', { recursive: true });
    copyFileSync(file, path.join('docs/screenshots', `${name}.png`));
  }
}

/**
 * The gripper is drawn as jaws that follow the fingers' poses: two fingers with a pad each, on
 * screen, the drawn opening equal to the frame's; then a frame with the fingers closed to 2 cm
 * (their poses moved along the closing axis) closes the drawn jaws, and the picture changes.
 */
async function checkJaws(page: Page, desc: SceneDescription, frame: Frame, framesSoFar: number): Promise<void> {
  const finger = (k: number) => desc.bodies.find((b) => b.name === `gripper-finger-${k}`)!;
  const at = (k: number) => 7 * frame.bodyIds.indexOf(finger(k).id);
  const thickness = finger(0).size[0];
  const p = frame.poses;
  const centres = [0, 1].map((k) => [p[at(k)], p[at(k) + 1], p[at(k) + 2]]);
  const gap = Math.hypot(...centres[0].map((v, i) => v - centres[1][i])) - thickness;
  const jaws = () => page.evaluate(() => (window as any).embody.player.view.gripperJaws() as { fingers: number; pads: number; opening: number; screen: number[][] });
  const open = await jaws();
  expect([open.fingers, open.pads]).toEqual([2, 2]);
  expect(gap).toBeGreaterThan(0.03);
  expect(open.opening).toBeCloseTo(gap, 4);
  for (const [x, y, z] of open.screen) expect(Math.max(Math.abs(x), Math.abs(y), Math.abs(z))).toBeLessThan(1);
  const before = await sampleCanvas(page);
  // Close the jaws to a 2 cm grip about their midpoint.
  const closed = { ...frame, poses: frame.poses.slice() };
  const mid = centres[0].map((v, i) => (v + centres[1][i]) / 2);
  const half = (0.02 + thickness) / 2;
  [0, 1].forEach((k) => {
    const away = centres[k].map((v, i) => v - mid[i]);
    const n = Math.hypot(...away);
    for (let i = 0; i < 3; i++) closed.poses[at(k) + i] = mid[i] + (away[i] / n) * half;
  });
  viewer.frame(closed);
  await page.waitForFunction((n) => (window as any).embody.live.framesReceived >= n, framesSoFar + 1);
  await page.waitForTimeout(300);
  expect((await jaws()).opening).toBeCloseTo(0.02, 4);
  expect(pixelDiff(before, await sampleCanvas(page))).toBeGreaterThan(0);
  viewer.frame(frame); // open again, for the screenshot
  await page.waitForFunction((n) => (window as any).embody.live.framesReceived >= n, framesSoFar + 2);
  await page.waitForTimeout(200);
}

/** A run directory with a recorded episode and a learning curve, as `embody run/train` leave them. */
async function makeRun(dir: string): Promise<void> {
  const env = await createEnv('uav-small', { seed: 7 });
  const controller = await createScripted('greedy', env.spec, { seed: 7, model: env.model });
  const sink = createMcapSink(path.join(dir, 'episodes'));
  await sink.describe(env.describe());
  let { obs } = env.reset();
  for (let i = 0; i < 80; i++) {
    obs = env.step(controller.act(obs)).obs;
    await sink.frame(env.frame(0));
  }
  await sink.endEpisode!(0, env.model.metrics(env.state));
  await sink.close!();
  env.close();
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ command: 'train', scene: 'uav-small', controller: 'greedy', seed: 7 }));
  const lines = Array.from({ length: 30 }, (_, i) => JSON.stringify({ step: 1000 * (i + 1), wallTime: i, 'eval/return': 20 + 40 * (1 - Math.exp(-i / 8)) }));
  writeFileSync(path.join(dir, 'metrics.jsonl'), lines.join('\n') + '\n');
}

describe('binary frame codec', () => {
  it('round-trips a frame, in Node and with the page decoder', async () => {
    const frame: Frame = {
      t: 1.25,
      episode: 3,
      reward: -0.5,
      return: 12.75,
      bodyIds: [4, 9],
      poses: Float32Array.from([1, 2, 3, 0, 0, 0, 1, -4, 5.5, 6, 0.5, 0.5, 0.5, 0.5]),
      hud: { batteryPct: 97.5 },
      overlay: { remaining: [1, 0.25], allocation: [1, -1] },
    };
    const bytes = encodeFrame(frame);
    expect(bytes.byteLength).toBe(40 + 32 * 2 + JSON.stringify({ hud: frame.hud, overlay: frame.overlay }).length);
    expect(decodeFrame(bytes)).toEqual(frame);
    // The page's decoder (plain ES module) reads the same bytes.
    const web = await import('./web/frame-codec.js' as string);
    const fromPage = web.decodeFrame(bytes.slice().buffer);
    expect({ ...fromPage, poses: Array.from(fromPage.poses) }).toEqual({ ...frame, poses: Array.from(frame.poses) });
    expect(() => encodeFrame({ ...frame, bodyIds: [4] })).toThrow(/expected 7/);
  });
});

// Never skipped: a machine without Chromium fails these (`npm test`'s pretest provisions it).
describe('viewer in headless Chromium', () => {
  beforeAll(async () => {
    mkdirSync(OUT, { recursive: true });
    runsDir = mkdtempSync(path.join(tmpdir(), 'embody-runs-'));
    mkdirSync(path.join(runsDir, RUN_ID));
    await makeRun(path.join(runsDir, RUN_ID));
    // A second run with only a learning curve, to compare on one chart.
    mkdirSync(path.join(runsDir, RUN_ID_2));
    const curve = Array.from({ length: 20 }, (_, i) => JSON.stringify({ step: 1500 * (i + 1), wallTime: i, 'eval/return': 10 + 30 * (1 - Math.exp(-i / 5)) }));
    writeFileSync(path.join(runsDir, RUN_ID_2, 'metrics.jsonl'), curve.join('\n') + '\n{"step": 31000, "eval/ret');
    writeFileSync(path.join(runsDir, RUN_ID_2, 'config.json'), JSON.stringify({ command: 'train', scene: 'uav-small', controller: 'sac', seed: 2 }));
    // Its second seed, as embody train writes metrics (kind rows, with bookkeeping keys), and a run of another task.
    const trainRows = (seed: number, amp: number) =>
      Array.from({ length: 20 }, (_, i) => [
        { step: 1500 * (i + 1), kind: 'train', seed, episode: i, wallTime: i, actorLoss: 1 / (i + 1) },
        { step: 1500 * (i + 1), kind: 'episode', seed, episode: i, return: amp * i },
        { step: 1500 * (i + 1), kind: 'eval', seed, wallTime: i, return: 10 + amp * (1 - Math.exp(-i / 5)), length: 100 },
      ]).flat();
    mkdirSync(path.join(runsDir, RUN_ID_3));
    writeFileSync(path.join(runsDir, RUN_ID_3, 'config.json'), JSON.stringify({ command: 'train', scene: 'uav-small', controller: 'sac', seed: 3 }));
    writeFileSync(path.join(runsDir, RUN_ID_3, 'metrics.jsonl'), trainRows(3, 60).map((r) => JSON.stringify(r)).join('\n') + '\n');
    // The first SAC seed gets the same keys (its eval/ rows above plus length), so they are one curve.
    writeFileSync(path.join(runsDir, RUN_ID_2, 'metrics.jsonl'), [...curve.map((l) => JSON.stringify({ ...JSON.parse(l), 'eval/length': 100 })), ...trainRows(2, 30).filter((r) => r.kind !== 'eval').map((r) => JSON.stringify(r))].join('\n') + '\n{"step": 31000, "eval/ret');
    mkdirSync(path.join(runsDir, RUN_ID_CARTPOLE));
    writeFileSync(path.join(runsDir, RUN_ID_CARTPOLE, 'config.json'), JSON.stringify({ command: 'train', scene: 'cartpole', controller: 'dqn', seed: 0 }));
    writeFileSync(path.join(runsDir, RUN_ID_CARTPOLE, 'metrics.jsonl'), trainRows(0, 400).map((r) => JSON.stringify(r)).join('\n') + '\n');
    viewer = await startLiveViewer({ port: 0, runsDir });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await viewer?.close();
    if (runsDir) rmSync(runsDir, { recursive: true, force: true });
  });

  it('live: renders the scene, and the UAV moves between two screenshots', async () => {
    const page = await openViewer(browser, `${viewer.url}?mode=live&scale=1`);
    const env = await createEnv('uav-small', { seed: 1 });
    const controller = await createScripted('greedy', env.spec, { seed: 1, model: env.model });
    let { obs } = env.reset();
    viewer.describe(env.describe());
    const pushFrames = async (n: number) => {
      for (let i = 0; i < n; i++) {
        obs = env.step(controller.act(obs)).obs;
        viewer.frame(env.frame(0));
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    await pushFrames(5);
    await page.waitForFunction(() => (window as any).embody.live.framesReceived >= 5);
    await page.waitForTimeout(300);
    const a = await sampleCanvas(page, 640, 360);
    const posA = await page.evaluate(() => (window as any).embody.uavPosition());
    await shot(page, 'live-1', false);
    await pushFrames(40);
    await page.waitForFunction(() => (window as any).embody.live.framesReceived >= 45);
    await page.waitForTimeout(300);
    const b = await sampleCanvas(page, 640, 360);
    const posB = await page.evaluate(() => (window as any).embody.uavPosition());
    await shot(page, 'live');
    env.close();
    // Non-blank: a blank canvas has one colour; the scene has ground, grid, rings, columns...
    expect(distinctColours(a)).toBeGreaterThan(20);
    // The UAV flew ~40 control steps (8 s at up to 15 m/s), and the picture changed with it.
    expect(Math.hypot(posB[0] - posA[0], posB[1] - posA[1])).toBeGreaterThan(10);
    expect(pixelDiff(a, b)).toBeGreaterThan(0.001);
    // The page shows what the env sent: its UAV is where the env's last frame put it.
    const last = env.frame(0).poses;
    expect(posB[0]).toBeCloseTo(last[0], 3);
    // Readable as Foxglove: a legend row per overlay, device labels, a scale bar and north
    // arrow, the UAV as a quadrotor, and the time-series panel of the task's figures.
    const drawn = await page.evaluate(() => {
      const e = (window as any).embody;
      const v = e.player.view;
      return {
        legend: Array.from(document.querySelectorAll('#legend .legend-row')).map((r) => r.textContent),
        labels: v.labels(),
        visibleLabels: Array.from(document.querySelectorAll('.labels .label')).filter((l) => (l as HTMLElement).style.display !== 'none').length,
        scale: document.querySelector('#scale-bar span')!.textContent,
        scaleWidth: (document.querySelector('#scale-bar .bar') as HTMLElement).getBoundingClientRect().width,
        map: v.mapOverlays(),
        north: (document.querySelector('#north-arrow .needle') as HTMLElement).style.transform,
        models: v.robotModels(),
        series: { points: e.player.series.points, metric: e.player.series.metric, drawn: e.player.series.chart?.data[0].length ?? 0 },
        seriesCanvas: !!document.querySelector('#timeseries canvas'),
      };
    });
    expect(drawn.legend).toEqual(['device: data left (column height)', 'radio range', 'allocation UAV → device', 'UAV trail']);
    const devices = (env.describe().overlay as { devices: { name: string }[] }).devices.map((d) => d.name);
    expect(drawn.labels).toEqual(expect.arrayContaining(devices));
    expect(drawn.visibleLabels).toBeGreaterThanOrEqual(devices.length);
    expect(drawn.scale).toMatch(/^(1|2|5)0* (m|cm)$/);
    // The bar is as long as its label says, at the view's scale.
    expect(Math.abs(drawn.scaleWidth - drawn.map.scaleMetres / drawn.map.metresPerPixel)).toBeLessThan(6);
    expect(drawn.north).toMatch(/^rotate\(-?\d+(\.\d)?deg\)$/);
    expect(drawn.models).toContain('quadrotor');
    expect(drawn.series.points).toBeGreaterThanOrEqual(45);
    expect(drawn.series.metric).toBe('batteryPct');
    expect(drawn.series.drawn).toBeGreaterThan(5);
    expect(drawn.seriesCanvas).toBe(true);
    await page.close();
  });

  it.each([
    ['nav-apartment', 8, /goals/, 'planned path', /./, null],
    ['manip-clutter', 2, /primitive/, 'grasp: succeeded', /^target$/, 'gripper-hand'],
  ])('live: %s draws with its task overlay, legend and labels, without page errors', async (sceneName, steps, hudPattern, legendRow, labelPattern, model) => {
    const page = await openViewer(browser, `${viewer.url}?mode=live&scale=1`);
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const env = await createEnv(sceneName, { seed: 3 });
    const controller = await createScripted('random', env.spec, { seed: 3, model: env.model });
    try {
      let { obs } = env.reset();
      viewer.describe(env.describe());
      for (let i = 0; i < steps; i++) {
        obs = env.step(controller.act(obs)).obs;
        viewer.frame(env.frame(0));
      }
      await page.waitForFunction((n) => (window as any).embody.live.framesReceived >= n, steps);
      await page.waitForTimeout(300);
      expect(errors).toEqual([]);
      expect(distinctColours(await sampleCanvas(page))).toBeGreaterThan(20);
      expect(await page.textContent('#hud')).toMatch(hudPattern);
      const drawn = await page.evaluate(() => ({
        legend: Array.from(document.querySelectorAll('#legend .legend-row')).map((r) => r.textContent),
        labels: (window as any).embody.player.view.labels() as string[],
        models: (window as any).embody.player.view.robotModels() as string[],
      }));
      expect(drawn.legend).toContain(legendRow);
      // Navigation labels its rooms and doors; manipulation its objects, the target marked.
      const desc = env.describe();
      if (sceneName.startsWith('nav')) expect(drawn.labels).toEqual(expect.arrayContaining((desc.overlay!.places as { name: string }[]).map((p) => p.name)));
      else expect(drawn.labels).toEqual(expect.arrayContaining(desc.bodies.filter((b) => b.role === 'target' || b.role === 'clutter').map((b) => b.name)));
      expect(drawn.labels.some((l) => labelPattern.test(l))).toBe(true);
      if (model) expect(drawn.models).toContain(model);
      if (sceneName.startsWith('manip')) await checkJaws(page, env.describe(), env.frame(0), steps);
      await shot(page, `live-${sceneName}`);
    } finally {
      env.close();
      await page.close();
    }
  });

  it('replay: the scrub bar jumps to a frame and the UAV is where the recording has it', async () => {
    const page = await openViewer(browser, `${viewer.url}?mode=replay&run=${RUN_ID}&episode=0000.mcap&scale=1`);
    const rec = await readEpisode(path.join(runsDir, RUN_ID, 'episodes', '0000.mcap'));
    const n = await page.evaluate(() => (window as any).embody.replay.frames.length);
    expect(n).toBe(rec.frames.length);
    const before = await sampleCanvas(page);
    for (const k of [60, 25]) {
      // Drive the real control, as a user dragging the scrub bar does.
      await page.evaluate((k) => {
        const el = document.getElementById('replay-scrub') as HTMLInputElement;
        el.value = String(k);
        el.dispatchEvent(new Event('input'));
      }, k);
      const pos = await page.evaluate(() => (window as any).embody.uavPosition());
      const want = rec.frames[k].poses;
      expect(pos[0]).toBeCloseTo(want[0], 3);
      expect(pos[1]).toBeCloseTo(want[1], 3);
      expect(pos[2]).toBeCloseTo(want[2], 3);
      expect(await page.evaluate(() => (window as any).embody.replay.index)).toBe(k);
    }
    await page.waitForTimeout(200);
    expect(pixelDiff(before, await sampleCanvas(page))).toBeGreaterThan(0.001);
    await shot(page, 'replay');
    // Play runs the clock forward from the scrubbed frame.
    await page.click('#replay-play');
    await page.waitForFunction(() => (window as any).embody.replay.index > 30, null, { timeout: 10_000 });
    await page.close();
  });

  it('runs: one task per chart, eval and train apart, smoothing, mean ± std across seeds, no bookkeeping keys', async () => {
    const page = await openViewer(browser, `${viewer.url}?mode=runs&smooth=0`);
    const read = () =>
      page.evaluate(() => {
        const r = (window as any).embody.runs;
        return {
          task: r.task,
          tasks: Array.from(document.querySelectorAll('#runs-task option')).map((o) => (o as HTMLOptionElement).value),
          split: r.split,
          metric: r.metric,
          metrics: r.metrics,
          groups: r.groups,
          data: r.chart?.data.map((c: ArrayLike<number | null>) => Array.from(c)),
        };
      });
    let state = await read();
    // Runs of uav-small only (the newest run's task); the cartpole run is on its own chart.
    expect(state.tasks.sort()).toEqual(['cartpole', 'uav-small']);
    expect(state.task).toBe('uav-small');
    expect(state.split).toBe('eval');
    expect(state.metric).toBe('return');
    // The metric list holds metrics only: no step, seed, episode or clock.
    expect(state.metrics).toEqual(['length', 'return']);
    // Two SAC seeds make one curve with a std band; greedy is one run. The torn last line is skipped.
    expect(state.groups).toEqual([
      { label: 'greedy', runs: 1, points: 30, maxStd: 0 },
      { label: 'sac', runs: 2, points: 20, maxStd: expect.any(Number) },
    ]);
    expect(state.groups[1].maxStd).toBeGreaterThan(1);
    // Greedy's raw last evaluation (no smoothing): mean = the run's value.
    const [xs, greedyMean] = state.data;
    expect(greedyMean[xs.indexOf(30000)]).toBeCloseTo(20 + 40 * (1 - Math.exp(-29 / 8)), 6);
    // The band is drawn: many pixels of SAC's colour (#d62728) at 20 % over white.
    const bandPixels = await page.evaluate(() => {
      const c = document.querySelector('#runs-chart canvas') as HTMLCanvasElement;
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (Math.abs(d[i] - 247) < 12 && Math.abs(d[i + 1] - 212) < 14 && Math.abs(d[i + 2] - 212) < 14) n++;
      return n;
    });
    expect(bandPixels).toBeGreaterThan(300);
    // Smoothing as TensorBoard's (debiased EMA): the rising curve's last point drops below the raw one.
    await page.evaluate(() => {
      (document.getElementById('runs-smooth') as HTMLInputElement).value = '0.9';
      return (window as any).embody.runs.draw();
    });
    state = await read();
    const raw = Array.from({ length: 30 }, (_, i) => 20 + 40 * (1 - Math.exp(-i / 8)));
    let last = 0;
    const expected = raw.map((y, n) => ((last = 0.9 * last + 0.1 * y), last / (1 - 0.9 ** (n + 1))));
    expect(state.data[1][state.data[0].indexOf(30000)]).toBeCloseTo(expected[29], 6);
    expect(expected[29]).toBeLessThan(raw[29] - 1);
    await shot(page, 'runs');
    // Training figures apart: the train split lists the learner's losses, not the eval return.
    await page.selectOption('#runs-split', 'train');
    await page.waitForFunction(() => (window as any).embody.runs.split === 'train');
    state = await read();
    expect(state.metrics).toEqual(['actorLoss', 'return']);
    expect(state.groups.map((g: { label: string }) => g.label)).toEqual(['sac']);
    // Another task: only its runs.
    await page.selectOption('#runs-task', 'cartpole');
    await page.waitForFunction(() => (window as any).embody.runs.task === 'cartpole');
    await page.selectOption('#runs-split', 'eval');
    await page.waitForFunction(() => (window as any).embody.runs.split === 'eval' && (window as any).embody.runs.groups.length > 0);
    state = await read();
    expect(state.groups.map((g: { label: string }) => g.label)).toEqual(['dqn']);
    await page.close();
  });

  it('telemetry: draws a robot\'s MQTT state over WebSockets, and never publishes', async () => {
    const { startBroker } = await import('../../hardware/broker.js');
    const { makeEnvelope, topicFor } = await import('../../hardware/protocol.js');
    const { toTelemetry } = await import('../../hardware/devices/driver.js');
    const mqtt = await import('mqtt');
    const broker = await startBroker({ port: 0, wsPort: 0 });
    const describeScene = async (name: string) => {
      const e = await createEnv(name, { seed: 0 });
      try {
        return e.describe();
      } finally {
        e.close();
      }
    };
    const server = await startViewerServer({ port: 0, runsDir, describeScene });
    const robot = await mqtt.connectAsync(broker.url, { clientId: 'test-robot' });
    const spy = await mqtt.connectAsync(broker.url, { clientId: 'test-spy' });
    const seen: string[] = [];
    await spy.subscribeAsync('#');
    spy.on('message', (topic) => seen.push(topic));
    const env = await createEnv('uav-small', { seed: 5 });
    const controller = await createScripted('greedy', env.spec, { seed: 5, model: env.model });
    try {
      const url = `${server.url}?mode=telemetry&url=${encodeURIComponent(broker.wsUrl!)}&robot=sim-1&scene=uav-small&scale=1`;
      const page = await openViewer(browser, url);
      await page.waitForFunction(() => (window as any).embody.telemetry.connected === true, null, { timeout: 10_000 });
      await page.waitForTimeout(200); // the page's subscription reaches the broker
      let { obs } = env.reset();
      for (let seq = 1; seq <= 30; seq++) {
        obs = env.step(controller.act(obs)).obs;
        const msg = makeEnvelope('state', 'sim-1', seq, { state: toTelemetry(env.state) });
        await robot.publishAsync(topicFor('sim-1', 'state'), JSON.stringify(msg));
      }
      await page.waitForFunction(() => (window as any).embody.telemetry.messages >= 30, null, { timeout: 10_000 });
      const pos = await page.evaluate(() => (window as any).embody.uavPosition());
      const want = (env.state as { pos: number[] }).pos;
      pos.forEach((v: number, k: number) => expect(v).toBeCloseTo(want[k], 3));
      await page.waitForTimeout(200);
      await shot(page, 'telemetry');
      await page.close();
      // Read-only: the only messages on the broker are the robot's 30 states.
      expect(seen).toHaveLength(30);
      expect(new Set(seen)).toEqual(new Set([topicFor('sim-1', 'state')]));
    } finally {
      env.close();
      await robot.endAsync();
      await spy.endAsync();
      await server.close();
      await broker.close();
    }
  });
});
