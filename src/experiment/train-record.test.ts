import { mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readEpisode } from '../record/mcap-reader.js';
import { train } from './train.js';

describe('embody train --record', () => {
  it('records the first episode of each evaluation as a readable MCAP, one file per evaluation', async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'embody-train-rec-'));
    const result = await train({
      scene: 'pendulum',
      controller: 'ppo',
      seed: 0,
      out,
      quiet: true,
      record: true,
      overrides: { steps: 512, evalEvery: 256, evalEpisodes: 2, numEnvs: 2, numSteps: 64, batchSize: 64, nEpochs: 1 },
    });
    const evals = readdirSync(path.join(result.runDir, 'episodes')).sort();
    expect(evals.length).toBe(2);
    for (const dir of evals) {
      expect(readdirSync(path.join(result.runDir, 'episodes', dir))).toEqual(['0000.mcap']); // episode 1 is not recorded
      const ep = await readEpisode(path.join(result.runDir, 'episodes', dir, '0000.mcap'));
      expect(ep.scene.task).toBe('pendulum');
      expect(ep.frames.length).toBe(201); // reset frame + 200 steps
      expect(ep.frames.every((f) => f.episode === 0)).toBe(true);
    }
  });
});
