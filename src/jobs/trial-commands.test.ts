import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseSweepSpec } from './spec.js';
import { runSweep } from './sweep.js';
import { runTrial } from './trial.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'embody-trial-commands-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/**
 * The sweep commands other than train, each through the experiment function it runs (no CLI):
 * collect → a dataset, train-offline on it → a DT run, eval of that DT → its figures. Real
 * Rapier, tfjs, HDF5 files; each trial in its own process, as a sweep runs it.
 */
describe('sweep trials run the experiment functions', () => {
  it('collect, then train-offline on the dataset, then eval of the policy', async () => {
    const collect = await runSweep({
      spec: parseSweepSpec({ name: 'collect', command: 'collect', scene: 'uav-small', controller: 'greedy', seeds: [3], options: { chunk: 1 }, config: { episodes: 2 } }),
      out: tmp,
      workers: 1,
      quiet: true,
    });
    const c = collect.trial('c0-s3');
    expect(c.status).toBe('done');
    expect(c.runDir).toBe(path.join('c0-s3', 'dataset'));
    const dataset = path.join(collect.dir, c.runDir!);
    expect(existsSync(path.join(dataset, 'card.json'))).toBe(true);
    expect(c.summary).toMatchObject({ episodes: 2, seed: 3, scene: 'uav-small' });
    expect((c.summary!.sources as { controller: string }[])[0].controller).toBe('greedy');

    const offline = await runSweep({
      spec: parseSweepSpec({ name: 'offline', command: 'train-offline', controller: 'dt', seeds: [0], options: { dataset, updates: 2, eval: 1 }, config: { K: 4, embed: 16, layers: 1, batch: 4 } }),
      out: tmp,
      workers: 1,
      quiet: true,
    });
    const t = offline.trial('c0-s0');
    expect(t.status).toBe('done');
    const runDir = path.join(offline.dir, t.runDir!);
    const config = JSON.parse(readFileSync(path.join(runDir, 'config.json'), 'utf8'));
    expect(config.config).toMatchObject({ K: 4, embed: 16, updates: 2, weighting: 'uniform' });
    expect((t.summary!.stats as { updates: number }).updates).toBe(2);
    expect(typeof (t.summary!.eval as { return: number }).return).toBe('number');
    expect(t.score).toBe((t.summary!.eval as { return: number }).return);

    const policy = path.join(runDir, 'policy');
    const ev = await runSweep({
      spec: parseSweepSpec({ name: 'eval', command: 'eval', scene: 'uav-small', controller: policy, seeds: [5], config: { episodes: 1 } }),
      out: tmp,
      workers: 1,
      quiet: true,
    });
    const e = ev.trial('c0-s5');
    expect(e.status).toBe('done');
    expect(e.summary).toMatchObject({ policy, scene: 'uav-small', kind: 'dt', episodes: 1, seed: 5 });
    // The record goes into the trial's own directory, never beside the (shared) policy.
    const record = JSON.parse(readFileSync(path.join(ev.dir, 'c0-s5', 'eval.json'), 'utf8'));
    expect(record.summary).toEqual((e.summary as { summary: unknown }).summary);
    expect(existsSync(path.join(runDir, 'eval.json'))).toBe(false);
  }, 240_000);

  it('refuses an option the command does not take, naming the trial', async () => {
    const job = { sweepId: 's', trialId: 'c0-s0', command: 'eval' as const, scene: 'uav-small', controller: 'greedy', seed: 0, config: { episodez: 2 }, options: {} };
    await expect(runTrial(job, path.join(tmp, 'bad'))).rejects.toThrow(/trial c0-s0 \(eval\): .*episodez/);
  });

  it('reads an old spec with empty args, and refuses command-line arguments with a pointer to options', () => {
    const base = { name: 'x', command: 'collect', scene: 'uav-small' };
    expect(parseSweepSpec({ ...base, args: [] }).options).toEqual({});
    expect(() => parseSweepSpec({ ...base, args: ['--episodes', '3'] })).toThrow(/args: .*"options"/);
  });
});
