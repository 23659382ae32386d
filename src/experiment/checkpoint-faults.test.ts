import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointStore } from '../../controllers/checkpoint/store.js';
import { PACKAGE_ROOT } from '../../sim/scene.js';
import { resume, train, type TrainOptions } from './train.js';

/**
 * Fault injection for checkpoints: a child process trains and is SIGKILLed at one write or
 * rename step of a checkpoint, for every step of the third checkpoint (which also removes an old
 * generation); then the run is resumed. It must resume from a valid checkpoint and end bit for bit
 * where the uninterrupted run ends, with every metrics line.
 */
const tmp = mkdtempSync(path.join(tmpdir(), 'embody-ckpt-faults-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});

const BASE = {
  scene: 'pendulum',
  controller: 'sac',
  steps: 400,
  seed: 5,
  backend: 'wasm',
  overrides: { hidden: [8, 8], batchSize: 8, learningStarts: 50, bufferSize: 300, logEvery: 50, evalEvery: 100, evalEpisodes: 1 },
} satisfies Partial<TrainOptions>;

const FIXTURE = path.join(PACKAGE_ROOT, 'src/experiment/fixtures/train-and-kill.ts');

function startChild(out: string, opts: object, killAt: number): { child: ChildProcess; done: Promise<{ code: number | null; signal: string | null; stderr: string }> } {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, out, JSON.stringify(opts), String(killAt)], { cwd: PACKAGE_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<{ code: number | null; signal: string | null; stderr: string }>((res) => child.on('exit', (code, signal) => res({ code, signal, stderr })));
  return { child, done };
}

const onlyRun = (out: string) => path.join(out, readdirSync(out)[0]);
const newestLearner = (run: string) => path.join(new CheckpointStore(path.join(run, 'checkpoints')).generations()[0].dir, 'learner');
/** metrics.jsonl without the figures that depend on the clock. */
const metrics = (run: string) =>
  readFileSync(path.join(run, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => Object.fromEntries(Object.entries(JSON.parse(l)).filter(([k]) => !/PerSec$|^wallTime$|^time$/.test(k))));

let reference: string;
const steps: string[] = [];

beforeAll(async () => {
  const r = await train({ ...BASE, out: path.join(tmp, 'ref'), quiet: true, checkpointFaults: { onStep: (s) => steps.push(s) } });
  reference = r.runDir;
}, 120_000);

function expectSameAsReference(run: string): void {
  const a = newestLearner(reference);
  const b = newestLearner(run);
  // Weights, optimiser moments and replay buffer (arrays.bin); counters, RNG, log α (state.json).
  expect(readFileSync(path.join(b, 'arrays.bin')).equals(readFileSync(path.join(a, 'arrays.bin')))).toBe(true);
  expect(readFileSync(path.join(b, 'state.json'), 'utf8')).toBe(readFileSync(path.join(a, 'state.json'), 'utf8'));
  expect(readFileSync(path.join(run, 'policy', 'weights.bin')).equals(readFileSync(path.join(reference, 'policy', 'weights.bin')))).toBe(true);
  expect(metrics(run)).toEqual(metrics(reference));
}

describe('checkpoint fault injection', () => {
  it('SIGKILL at every write and rename step of a checkpoint: resume is valid, bit-exact, and loses no metrics line', async () => {
    const starts = steps.flatMap((s, i) => (s === 'write arrays.bin' ? [i] : []));
    expect(starts.length).toBe(4); // one checkpoint per evaluation: 100, 200, 300, 400
    const third = steps.slice(starts[2], starts[3]);
    // Every step of a checkpoint that touches the disk is there, including removal of the oldest generation.
    expect(third).toEqual([
      'write arrays.bin',
      'write state.json',
      'write manifest.json',
      'rename learner.tmp -> learner',
      'write driver.json',
      'write manifest.json',
      'rename .tmp-gen-000003 -> gen-000003',
      'rename gen-000001 -> .trash-gen-000001',
      'remove gen-000001',
    ]);
    const commit = starts[2] + third.indexOf('rename .tmp-gen-000003 -> gen-000003');
    for (let k = starts[2]; k < starts[3]; k++) {
      const out = path.join(tmp, `kill-${k}`);
      const { done } = startChild(out, BASE, k);
      const exit = await done;
      expect(exit.signal, `step ${k} (${steps[k]}): ${exit.stderr}`).toBe('SIGKILL');
      const run = onlyRun(out);
      const before = metrics(run).length;
      const resumed = await resume(run, { quiet: true });
      // Killed before the generation's rename: the previous one (step 200); after: the new one (300).
      expect(resumed.resumedFrom?.envSteps, steps[k]).toBe(k <= commit ? 200 : 300);
      expect(resumed.resumedFrom?.skipped).toEqual([]);
      expect(resumed.envSteps).toBe(400);
      expect(before).toBeGreaterThan(0);
      expectSameAsReference(run);
      // Nothing left behind: no temp or trash directories, at most two generations, lock released.
      const left = readdirSync(path.join(run, 'checkpoints'));
      expect(left.filter((n) => n.startsWith('.'))).toEqual([]);
      expect(left.length).toBeLessThanOrEqual(2);
      expect(existsSync(path.join(run, 'run.lock'))).toBe(false);
    }
  }, 600_000);

  it('a half-truncated arrays.bin is detected on resume, named, and the previous good checkpoint is used', async () => {
    const run = path.join(tmp, 'truncated');
    cpSync(reference, run, { recursive: true });
    const newest = newestLearner(run);
    const file = path.join(newest, 'arrays.bin');
    truncateSync(file, Math.floor(statSync(file).size / 2));
    const resumed = await resume(run, { quiet: true });
    expect(resumed.resumedFrom?.envSteps).toBe(300);
    expect(resumed.resumedFrom?.skipped).toHaveLength(1);
    expect(resumed.resumedFrom?.skipped[0].reason).toMatch(/gen-000004.learner.arrays\.bin: \d+ bytes, the manifest says \d+ \(truncated/);
    expectSameAsReference(run);
  }, 120_000);

  const OTHERS = [
    ['ppo', { numEnvs: 2, numSteps: 64, batchSize: 64, nEpochs: 2, hidden: [16, 16], totalSteps: 512 }],
    ['dqn', { totalSteps: 512, learningStarts: 100, trainFreq: 16, gradientSteps: 4, batchSize: 16, bufferSize: 300, targetUpdateInterval: 10, hidden: [16, 16] }],
  ] as const;
  for (const [controller, learner] of OTHERS) {
    it(`${controller} uses the same format: a damaged newest checkpoint falls back and the run still ends bit-exactly`, async () => {
      const opts = { scene: 'cartpole', controller, steps: 512, seed: 2, backend: 'wasm', quiet: true, overrides: { ...learner, evalEvery: 128, evalEpisodes: 1 } };
      const ref = (await train({ ...opts, out: path.join(tmp, `${controller}-ref`) })).runDir;
      const run = path.join(tmp, `${controller}-damaged`);
      cpSync(ref, run, { recursive: true });
      const state = path.join(newestLearner(run), 'state.json');
      writeFileSync(state, readFileSync(state, 'utf8').replace('"envSteps":512', '"envSteps":511'));
      const resumed = await resume(run, { quiet: true });
      expect(resumed.resumedFrom?.envSteps).toBe(384);
      expect(resumed.resumedFrom?.skipped[0].reason).toMatch(/learner.state\.json: sha256 .* \(corrupted\)/);
      expect(readFileSync(path.join(newestLearner(run), 'arrays.bin')).equals(readFileSync(path.join(newestLearner(ref), 'arrays.bin')))).toBe(true);
      expect(metrics(run)).toEqual(metrics(ref));
    }, 120_000);
  }

  it('with every checkpoint damaged, resume refuses and names each file', async () => {
    const run = path.join(tmp, 'all-damaged');
    cpSync(reference, run, { recursive: true });
    for (const g of new CheckpointStore(path.join(run, 'checkpoints')).generations()) truncateSync(path.join(g.dir, 'driver.json'), 3);
    await expect(resume(run, { quiet: true })).rejects.toThrow(/no valid checkpoint.*gen-000004.*driver\.json: 3 bytes.*gen-000003.*driver\.json: 3 bytes/);
  });

  it('killed during its first checkpoint, a run has nothing to resume and says so (no ENOENT, no partial state)', async () => {
    const out = path.join(tmp, 'first');
    const exit = await startChild(out, BASE, steps.indexOf('rename learner.tmp -> learner')).done;
    expect(exit.signal).toBe('SIGKILL');
    await expect(resume(onlyRun(out), { quiet: true })).rejects.toThrow(/no valid checkpoint to resume from \(no checkpoints\/gen-\* directory\)/);
  }, 120_000);

  it('a second process may not write a live run: resume is refused while the first one trains', async () => {
    const out = path.join(tmp, 'live');
    const { child, done } = startChild(out, { ...BASE, steps: 1_000_000 }, -1);
    const deadline = Date.now() + 60_000;
    while (!(existsSync(out) && readdirSync(out).length && existsSync(path.join(onlyRun(out), 'run.lock')))) {
      if (Date.now() > deadline) throw new Error('the training child never locked its run');
      await new Promise((r) => setTimeout(r, 100));
    }
    const run = onlyRun(out);
    await expect(resume(run, { quiet: true })).rejects.toThrow(new RegExp(`run.lock: the run is in use by pid ${child.pid}`));
    child.kill('SIGKILL');
    await done;
  }, 120_000);
});
