import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createScripted } from '../controllers/registry.js';
import { createEnv } from '../sim/registry.js';
import type { FrameSink } from '../src/core/frames.js';
import { DISPLAY_HZ } from '../src/record/inline-sink.js';
import { createMcapSink } from '../src/record/mcap-sink.js';
import { chromiumAvailable, launchChromium, openViewer } from '../src/viewer/browser.js';
import { encodeFrame } from '../src/viewer/frame-codec.js';
import { startLiveViewer } from '../src/viewer/live.js';
import { table, writeBenchResult } from './results-io.js';

/**
 * `npx tsx bench/viewer.ts [--quick] [--label <name>] [--no-page] [--episodes N]` (or `embody bench viewer`): what
 * watching and recording cost; writes bench/results/<date>-viewer[-quick][-<name>].json.
 * - MCAP recording overhead on an `embody run uav-small --controller greedy`-style loop:
 *   the same episodes with and without the sink (issue: <= 10% slower; best of interleaved
 *   reps, with the median, the first rep (cold recording thread) and each rep's load average), as wall time, as the
 *   main thread's CPU time (the run's slowdown when the recorder's worker has a core; robust
 *   to a busy machine) and as all threads' CPU time (the total work);
 * - live frame bytes (per frame, and per second at the task's control rate) and MCAP bytes per frame;
 * - page fps with uav-city under SwiftShader in headless Chromium, counted with
 *   requestAnimationFrame in the page while frames stream in (issue: >= 30 fps).
 */

/**
 * CPU time of the main thread alone (Linux: /proc/self/task/<pid>/stat, 10 ms ticks), or null.
 * It is what slows the run when the recorder's worker thread has a core of its own.
 */
function mainThreadCpuSeconds(): number | null {
  try {
    const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

async function episodeLoop(scene: string, episodes: number, sink: FrameSink | null): Promise<{ seconds: number; cpuSeconds: number; mainCpuSeconds: number | null; steps: number }> {
  const env = await createEnv(scene, { seed: 0 });
  const controller = await createScripted('greedy', env.spec, { seed: 0, model: env.model });
  let steps = 0;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const main0 = mainThreadCpuSeconds();
  if (sink) await sink.describe(env.describe());
  for (let ep = 0; ep < episodes; ep++) {
    let { obs } = env.reset({ seed: ep });
    controller.reset();
    if (sink) await sink.frame(env.frame(ep));
    for (;;) {
      const r = env.step(controller.act(obs));
      obs = r.obs;
      steps++;
      if (sink) await sink.frame(env.frame(ep));
      if (r.terminated || r.truncated) {
        if (sink) await sink.endEpisode?.(ep, env.model.metrics(env.state));
        break;
      }
    }
  }
  if (sink) await sink.close?.();
  const seconds = (performance.now() - t0) / 1000;
  // Process CPU time (all threads): robust to other processes on a shared machine, and it
  // counts the worker's work too, which wall time hides when a core is free.
  const cpu = process.cpuUsage(cpu0);
  const main1 = mainThreadCpuSeconds();
  env.close();
  return { seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, mainCpuSeconds: main0 === null || main1 === null ? null : main1 - main0, steps };
}

/**
 * Same episodes without a sink, with the worker-thread sink (the default) and with the inline
 * one. Sinks are created (and the worker loaded) before the clock starts: that start-up is a
 * once-per-run cost, reported on its own. The clock includes close(), i.e. until every file is
 * complete on disk.
 */
async function recordingOverhead(scene: string, episodes: number, reps: number) {
  await episodeLoop(scene, 1, null); // warm-up (JIT, wasm)
  const times = { none: [] as number[], frames: [] as number[], worker: [] as number[], inline: [] as number[] };
  const cpu = { none: [] as number[], frames: [] as number[], worker: [] as number[], inline: [] as number[] };
  const mainCpu = { none: [] as number[], frames: [] as number[], worker: [] as number[], inline: [] as number[] };
  const startupMs: number[] = [];
  // The load average before each rep: on a shared machine it explains the spread.
  const loadBeforeRep: number[] = [];
  let mcapBytes = 0;
  let frames = 0;
  const runMode = async (mode: 'none' | 'frames' | 'worker' | 'inline') => {
    if (mode === 'none' || mode === 'frames') {
      // 'frames': a sink that drops everything, i.e. what the env's frame() itself costs (the runner calls it only when some sink is attached).
      const res = await episodeLoop(scene, episodes, mode === 'none' ? null : { describe() {}, frame() {} });
      times[mode].push(res.seconds);
      cpu[mode].push(res.cpuSeconds);
      if (res.mainCpuSeconds !== null) mainCpu[mode].push(res.mainCpuSeconds);
      return;
    }
    const dir = mkdtempSync(path.join(tmpdir(), 'embody-bench-mcap-'));
    const t0 = performance.now();
    const sink = createMcapSink(dir, { worker: mode === 'worker' });
    await sink.flush();
    if (mode === 'worker') startupMs.push(performance.now() - t0);
    const res = await episodeLoop(scene, episodes, sink);
    times[mode].push(res.seconds);
    cpu[mode].push(res.cpuSeconds);
    if (res.mainCpuSeconds !== null) mainCpu[mode].push(res.mainCpuSeconds);
    mcapBytes = readdirSync(dir).reduce((s, f) => s + statSync(path.join(dir, f)).size, 0);
    frames = res.steps + episodes;
    rmSync(dir, { recursive: true, force: true });
  };
  for (let r = 0; r < reps; r++) {
    // Interleaved, in ABBA order: the recorded run and its unrecorded peer run back to back,
    // first one then the other, so a change in the machine's load hits both alike.
    loadBeforeRep.push(os.loadavg()[0]);
    const order = r % 2 === 0 ? (['none', 'worker', 'frames', 'inline'] as const) : (['worker', 'none', 'inline', 'frames'] as const);
    for (const mode of order) await runMode(mode);
  }
  const best = (xs: number[]) => Math.min(...xs);
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  const b = best(times.none);
  return {
    scene,
    episodes,
    frames,
    baselineS: b,
    workerS: best(times.worker),
    inlineS: best(times.inline),
    framesOnlyS: best(times.frames),
    framesOnlyOverheadPct: (100 * (best(times.frames) - b)) / b,
    workerOverheadPct: (100 * (best(times.worker) - b)) / b,
    inlineOverheadPct: (100 * (best(times.inline) - b)) / b,
    workerCpuOverheadPct: (100 * (best(cpu.worker) - best(cpu.none))) / best(cpu.none),
    // The same in absolute terms: all threads' CPU per frame that recording adds, against the
    // CPU per frame of the unrecorded run (best of reps, both).
    baselineCpuUsPerFrame: (1e6 * best(cpu.none)) / frames,
    workerCpuUsPerFrame: (1e6 * (best(cpu.worker) - best(cpu.none))) / frames,
    inlineCpuUsPerFrame: (1e6 * (best(cpu.inline) - best(cpu.none))) / frames,
    medianWorkerCpuOverheadPct: (100 * (median(cpu.worker) - median(cpu.none))) / median(cpu.none),
    inlineCpuOverheadPct: (100 * (best(cpu.inline) - best(cpu.none))) / best(cpu.none),
    workerMainThreadCpuOverheadPct: mainCpu.none.length ? (100 * (best(mainCpu.worker) - best(mainCpu.none))) / best(mainCpu.none) : null,
    inlineMainThreadCpuOverheadPct: mainCpu.none.length ? (100 * (best(mainCpu.inline) - best(mainCpu.none))) / best(mainCpu.none) : null,
    // The process's recording thread is shared by its sinks: the first rep starts it and runs
    // its encoder cold (before the JIT has compiled it), later reps find it warm.
    workerStartupMs: startupMs[0],
    workerFirstRepOverheadPct: (100 * (times.worker[0] - times.none[0])) / times.none[0],
    medianWorkerOverheadPct: (100 * (median(times.worker) - median(times.none))) / median(times.none),
    // Each recorded run against the unrecorded one next to it, then the median over reps.
    pairedMedianWorkerOverheadPct: 100 * (median(times.worker.map((w, i) => w / times.none[i])) - 1),
    perRep: { loadAverage1m: loadBeforeRep, noSinkS: times.none, workerS: times.worker, inlineS: times.inline },
    mcapBytesPerFrame: mcapBytes / frames,
    mcapBytes,
  };
}

/**
 * Many short pairs instead of a few long runs: on a shared, loaded machine the load changes
 * within seconds, so each recorded run (a fresh sink on the process's warm recording thread,
 * files complete on disk) is timed right next to its unrecorded peer, in ABBA order, and the
 * overhead is the median of the per-pair ratios, with its quartiles.
 */
async function pairedShortRuns(scene: string, episodes: number, pairs: number) {
  await episodeLoop(scene, 1, null);
  const warm = createMcapSink(mkdtempSync(path.join(tmpdir(), 'embody-bench-mcap-')));
  await warm.close?.(); // the recording thread is started once per process, before the clock
  const ratios: number[] = [];
  const cpuRatios: number[] = [];
  const loads: number[] = [];
  let frames = 0;
  for (let p = 0; p < pairs; p++) {
    loads.push(os.loadavg()[0]);
    const dir = mkdtempSync(path.join(tmpdir(), 'embody-bench-mcap-'));
    const recorded = async () => {
      const sink = createMcapSink(dir);
      const res = await episodeLoop(scene, episodes, sink);
      frames = res.steps + episodes;
      return res;
    };
    const bare = () => episodeLoop(scene, episodes, null);
    let none: Awaited<ReturnType<typeof episodeLoop>>;
    let rec: Awaited<ReturnType<typeof episodeLoop>>;
    if (p % 2 === 0) {
      none = await bare();
      rec = await recorded();
    } else {
      rec = await recorded();
      none = await bare();
    }
    rmSync(dir, { recursive: true, force: true });
    ratios.push(rec.seconds / none.seconds);
    cpuRatios.push(rec.cpuSeconds / none.cpuSeconds);
  }
  // Quartiles of the per-pair ratios, as overhead %: wall time, and all threads' CPU time (the
  // figure that holds on a machine with no free core for the recording thread).
  const quartiles = (xs: number[]) => {
    const sorted = [...xs].sort((x, y) => x - y);
    const q = (f: number) => 100 * (sorted[Math.min(sorted.length - 1, Math.floor(f * sorted.length))] - 1);
    return [q(0.25), q(0.5), q(0.75)];
  };
  const [q1, med, q3] = quartiles(ratios);
  const [cq1, cmed, cq3] = quartiles(cpuRatios);
  return { scene, episodesPerRun: episodes, framesPerRun: frames, pairs, medianOverheadPct: med, q1OverheadPct: q1, q3OverheadPct: q3, medianCpuOverheadPct: cmed, q1CpuOverheadPct: cq1, q3CpuOverheadPct: cq3, ratios, cpuRatios, loadAverage1m: loads };
}

async function frameBytes(scene: string) {
  const env = await createEnv(scene, { seed: 0 });
  const controller = await createScripted('greedy', env.spec, { seed: 0, model: env.model });
  let { obs } = env.reset();
  let total = 0;
  const n = 100;
  for (let i = 0; i < n; i++) {
    obs = env.step(controller.act(obs)).obs;
    total += encodeFrame(env.frame(0)).byteLength;
  }
  const hz = 1 / env.spec.controlPeriod;
  env.close();
  return { scene, bytesPerFrame: total / n, controlHz: hz, bytesPerSecondRealTime: (total / n) * hz };
}

export async function pageFps(scene: string, seconds: number, streamHz: number, fixedScale: boolean) {
  const viewer = await startLiveViewer({ port: 0 });
  const browser = await launchChromium();
  try {
    const page = await openViewer(browser, `${viewer.url}?mode=live${fixedScale ? '&scale=1' : ''}`);
    const env = await createEnv(scene, { seed: 0 });
    const controller = await createScripted('greedy', env.spec, { seed: 0, model: env.model });
    let { obs } = env.reset();
    viewer.describe(env.describe());
    let ep = 0;
    const timer = setInterval(() => {
      const r = env.step(controller.act(obs));
      obs = r.obs;
      viewer.frame(env.frame(ep));
      if (r.terminated || r.truncated) obs = env.reset({ seed: ++ep }).obs;
    }, 1000 / streamHz);
    await page.waitForFunction(() => (window as any).embody.live.framesReceived > 5);
    // A string, not a function: tsx would wrap a function's inner closures in its __name helper,
    // which does not exist in the page.
    const measured = (await page.evaluate(`new Promise((resolve) => {
      let n = 0;
      const t0 = performance.now();
      const tick = (now) => {
        n++;
        if (now - t0 < ${seconds * 1000}) requestAnimationFrame(tick);
        else resolve({ fps: (n * 1000) / (now - t0), frames: window.embody.live.framesReceived, scale: window.embody.renderScale });
      };
      requestAnimationFrame(tick);
    })`)) as { fps: number; frames: number; scale: number };
    clearInterval(timer);
    const bytes = viewer.server?.stats.bytesSent ?? 0;
    const sent = viewer.server?.stats.framesSent ?? 0;
    env.close();
    return { scene, viewport: '1280x720', renderer: 'SwiftShader (headless Chromium)', renderScale: fixedScale ? 1 : `adaptive, ended at ${measured.scale}`, streamHz, fps: measured.fps, framesReceived: measured.frames, bytesPerFrame: sent ? bytes / sent : 0 };
  } finally {
    await browser.close();
    await viewer.close();
  }
}

export async function runBench(opts: { quick: boolean; outDir: string; label?: string; page?: boolean; episodes?: number }) {
  // 96 uav-small episodes (about 2 s a run on a quiet machine): shorter runs measured the GC and the JIT more than the recorder.
  const episodes = opts.episodes ?? (opts.quick ? 2 : 96);
  const reps = opts.quick ? 2 : 7;
  const overhead = [await recordingOverhead('uav-small', episodes, reps), await recordingOverhead('uav-city', Math.max(1, episodes / 2), reps)];
  console.log('MCAP recording overhead (greedy controller, best of interleaved reps)');
  console.log(
    table(
      overhead.map((o) => ({
        scene: o.scene,
        frames: o.frames,
        'no sink s': o.baselineS,
        'env.frame() only %': o.framesOnlyOverheadPct,
        'worker s': o.workerS,
        'worker %': o.workerOverheadPct,
        'inline s': o.inlineS,
        'inline %': o.inlineOverheadPct,
        'worker main-thread cpu %': o.workerMainThreadCpuOverheadPct ?? NaN,
        'worker all-threads cpu %': o.workerCpuOverheadPct,
        'worker cpu µs/frame': o.workerCpuUsPerFrame,
        'no sink cpu µs/frame': o.baselineCpuUsPerFrame,
        'inline cpu %': o.inlineCpuOverheadPct,
        'worker paired median %': o.pairedMedianWorkerOverheadPct,
        'worker 1st rep %': o.workerFirstRepOverheadPct,
        'thread start ms': o.workerStartupMs,
        'MCAP B/frame': o.mcapBytesPerFrame,
      })),
    ),
  );
  const paired = [await pairedShortRuns('uav-small', opts.quick ? 1 : 4, opts.quick ? 4 : 41), await pairedShortRuns('uav-city', opts.quick ? 1 : 2, opts.quick ? 4 : 41)];
  console.log('\nrecording overhead, short runs in ABBA pairs (median of per-pair ratios, quartiles; wall time and all threads\' CPU time)');
  console.log(
    table(
      paired.map((p) => ({
        scene: p.scene,
        'frames/run': p.framesPerRun,
        pairs: p.pairs,
        'wall median %': p.medianOverheadPct,
        'wall q1 %': p.q1OverheadPct,
        'wall q3 %': p.q3OverheadPct,
        'cpu median %': p.medianCpuOverheadPct,
        'cpu q1 %': p.q1CpuOverheadPct,
        'cpu q3 %': p.q3CpuOverheadPct,
      })),
    ),
  );
  const bytes = [await frameBytes('uav-small'), await frameBytes('uav-city')];
  console.log('\nlive stream frame size');
  console.log(table(bytes.map((b) => ({ scene: b.scene, 'bytes/frame': b.bytesPerFrame, 'control Hz': b.controlHz, 'bytes/s real time': b.bytesPerSecondRealTime }))));
  const fps: Awaited<ReturnType<typeof pageFps>>[] = [];
  if (opts.page === false) console.log('\npage fps: skipped (--no-page)');
  else if (chromiumAvailable()) {
    // Full resolution, then the page's default adaptive resolution (which steps down on a slow renderer).
    for (const fixed of [true, false]) fps.push(await pageFps('uav-city', opts.quick ? 4 : 10, 30, fixed));
    console.log('\npage fps');
    console.log(table(fps.map((f) => ({ scene: f.scene, viewport: f.viewport, 'render scale': String(f.renderScale), 'stream Hz': f.streamHz, fps: f.fps, 'bytes/frame': f.bytesPerFrame, 'bytes/s at stream Hz': f.bytesPerFrame * f.streamHz }))));
  } else console.log('\npage fps: skipped (no /usr/bin/chromium)');
  // Other processes on a shared machine skew every figure: record how busy it was.
  const loadAverage = os.loadavg();
  console.log(`\nload average ${loadAverage.map((l) => l.toFixed(1)).join(' ')} on ${os.cpus().length} cores`);
  const suite = ['viewer', opts.quick ? 'quick' : '', opts.label ?? ''].filter(Boolean).join('-');
  const file = writeBenchResult(opts.outDir, suite, { loadAverage, displayHz: DISPLAY_HZ, recordingOverhead: overhead, pairedShortRuns: paired, frameBytes: bytes, pageFps: fps });
  console.log(`\nwrote ${file}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const label = process.argv.indexOf('--label');
  const episodes = process.argv.indexOf('--episodes');
  await runBench({ quick: process.argv.includes('--quick'), outDir: 'bench/results', label: label > 0 ? process.argv[label + 1] : undefined, page: !process.argv.includes('--no-page'), episodes: episodes > 0 ? Number(process.argv[episodes + 1]) : undefined });
}
