import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../core/rng.js';
import { PACKAGE_ROOT } from '../../sim/scene.js';
import { loadScene } from '../../sim/registry.js';

/**
 * The commands themselves, as a user types them, on a decision-transformer artifact (which
 * `embody eval` and `embody bridge` could not load before embody.policy/2) and on the committed
 * navigation policy (which `embody run nav-office` used to feed the wrong observation).
 */
const run = promisify(execFile);
const embody = (args: string[]) => run(process.execPath, [path.join(PACKAGE_ROOT, 'bin/embody.js'), ...args], { encoding: 'utf8', timeout: 120_000 });
const tmp = mkdtempSync(path.join(os.tmpdir(), 'embody-policy-cli-'));
const dtDir = path.join(tmp, 'dt');
let scene: string;

beforeAll(async () => {
  const { scene: base } = loadScene('uav-small');
  scene = path.join(tmp, 'uav-short.json');
  writeFileSync(scene, JSON.stringify({ ...base, name: 'uav-short', maxEpisodeSteps: 12 }));
  const { dtConfig } = await import('../../controllers/dt/config.js');
  const { dtParamSpecs, initDtWeights } = await import('../../controllers/dt/weights.js');
  const { saveDt } = await import('../../controllers/dt/artifact.js');
  const config = dtConfig({ K: 4, embed: 16, layers: 1, heads: 2, dropout: 0, eta: 1, loraRank: 2, loraAlpha: 4 });
  const w = initDtWeights(dtParamSpecs(config, 32, 3), new Rng(3));
  const stats = { updates: 0, seconds: 0, finalLoss: 0, trainableParams: 0, totalParams: 0, trainableShare: 1 };
  await saveDt(dtDir, { config, obsDim: 32, actDim: 3, weights: w, rawWeights: w, obsMean: new Float32Array(32), obsStd: new Float32Array(32).fill(1), rtgScale: 10, targetReturn: 5, stats }, { taskId: 'uav-data-collection', scene: 'uav-small' });
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('policy directories on the command line', () => {
  it('embody eval, run and bridge --sim take a DT artifact; eval and run agree exactly', async () => {
    const evalOut = JSON.parse((await embody(['eval', dtDir, scene, '-n', '1', '-s', '3', '--json'])).stdout);
    const runOut = JSON.parse((await embody(['run', scene, '-c', dtDir, '-n', '1', '-s', '3', '--no-save', '--json'])).stdout);
    expect(evalOut.kind).toBe('crdt');
    expect(runOut.summary.return.mean).toBe(evalOut.summary.return.mean);
    expect(runOut.summary.length.mean).toBe(12);
    const bridge = await embody(['bridge', '--sim', '1', '--episodes', '1', '--seed', '3', '--port', '0', '--policy', dtDir, '--scene', scene, '--json']);
    const episode = JSON.parse(bridge.stdout.trim().split('\n')[0]);
    expect(episode).toMatchObject({ robotId: 'sim-0', length: 12 });
    expect(Number.isFinite(episode.return)).toBe(true);
  }, 120_000);

  it('embody run and eval refuse the waypoint policy on nav-office, naming 37 and 44, and exit 1', async () => {
    const policy = path.join(PACKAGE_ROOT, 'controllers/planning/policies/nav-waypoint-sac');
    for (const args of [['run', 'nav-office', '-c', policy, '-n', '1', '--no-save'], ['eval', policy, 'nav-office', '-n', '1']]) {
      const err = await embody(args).then(
        () => null,
        (e: { code: number; stderr: string }) => e,
      );
      expect(err?.code, args.join(' ')).toBe(1);
      expect(err?.stderr).toMatch(/observations of shape \[37\].*nav-office.*shape \[44\]/);
    }
  }, 60_000);
});
