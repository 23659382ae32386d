import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeJsonAtomic } from '../core/atomic.js';
import { parseSweepSpec } from './spec.js';
import { runSweep } from './sweep.js';
import { SweepRecord } from './sweep-file.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'embody-sweep-local-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('sweep on the local pool', () => {
  it('--resume keeps finished trials and reruns an interrupted one from its checkpoint, to the same figures', async () => {
    const base = { name: 'resume', command: 'train', scene: 'cartpole', controller: 'ppo', steps: 512, seeds: [0, 1], config: { evalEvery: 256, evalEpisodes: 2 } };
    // maxMinutes ≈ 0: each trial stops after its first evaluation, leaving a checkpoint at step 256.
    const first = await runSweep({ spec: parseSweepSpec({ ...base, maxMinutes: 1e-6 }), out: tmp, workers: 2, quiet: true });
    expect(first.counts().done).toBe(2);
    const before = first.trial('c0-s1');
    expect(before.summary!.envSteps).toBe(256);
    // A coordinator that died mid-trial: c0-s1 still "running", its result not recorded.
    const state = JSON.parse(readFileSync(path.join(first.dir, 'sweep.json'), 'utf8'));
    Object.assign(state.trials[1], { status: 'running', summary: null, score: null, runDir: null, files: [] });
    writeJsonAtomic(path.join(first.dir, 'sweep.json'), state);
    rmSync(path.join(first.dir, before.runDir!, 'summary.json'));

    const resumed = await runSweep({ resume: first.dir, quiet: true });
    const again = resumed.trial('c0-s1');
    expect(again.status).toBe('done');
    expect(again.attempts).toBe(2);
    expect(again.summary!.resumedFrom).toBe(path.basename(before.runDir!));
    expect(again.summary!.envSteps).toBe(512);
    // The same figures as the same trial run without interruption.
    const straight = await runSweep({ spec: parseSweepSpec({ ...base, name: 'straight', seeds: [1] }), out: tmp, workers: 1, quiet: true });
    expect(again.summary!.finalEval).toEqual(straight.trial('c0-s1').summary!.finalEval);
    expect(resumed.trial('c0-s0').attempts).toBe(1); // finished trials are not run again
    const lines = readFileSync(path.join(first.dir, 'results.jsonl'), 'utf8').trim().split('\n');
    expect(lines.map((l) => JSON.parse(l).trial)).toEqual(expect.arrayContaining(['c0-s0', 'c0-s1']));
    expect(SweepRecord.open(first.dir).state.best?.score).toBe(Math.max(resumed.trial('c0-s0').score!, again.score!));
  }, 120_000);
});
