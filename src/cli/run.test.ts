import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../sim/scene.js';

const embody = (args: string[]) =>
  execFileSync(process.execPath, [path.join(PACKAGE_ROOT, 'bin/embody.js'), ...args], { encoding: 'utf8', stdio: 'pipe' });

describe('embody run', () => {
  it('writes a run directory with config, metrics and summary, and the same seed reproduces it', () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'embody-runs-'));
    const printed = embody(['run', 'uav-small', '--controller', 'tour', '--episodes', '2', '--seed', '4', '--out', out]);
    expect(printed).toMatch(/efficiencyBitPerJ/);
    const [dirName] = readdirSync(out);
    expect(dirName).toMatch(/^\d{8}-\d{6}-uav-small-tour-s4$/);
    const dir = path.join(out, dirName);
    const config = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
    expect(config).toMatchObject({ command: 'run', scene: 'uav-small', controller: 'tour', seed: 4, episodes: 2, backend: 'none' });
    expect(config.packageVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(config.sceneConfig.devices).toHaveLength(6);
    const lines = readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.seed)).toEqual([4, 5]);
    const summary = JSON.parse(readFileSync(path.join(dir, 'summary.json'), 'utf8'));
    expect(summary.summary.fractionCollected.mean).toBeGreaterThan(0.99);

    const again = JSON.parse(embody(['run', 'uav-small', '-c', 'tour', '-n', '2', '-s', '4', '--no-save', '--json']));
    expect(again.summary.efficiencyBitPerJ.mean).toBe(summary.summary.efficiencyBitPerJ.mean);
  });
});
