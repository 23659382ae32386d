import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.js';
import { PACKAGE_ROOT } from '../../src/core/package.js';
import { DT_DEFAULTS, DtConfigSchema, dtConfig } from './config.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'embody-dt-config-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('DT config (zod, strict)', () => {
  it('fills the references\' defaults and keeps what it is given', () => {
    expect(DT_DEFAULTS).toMatchObject({ K: 20, embed: 128, layers: 3, heads: 1, lr: 1e-4, weighting: 'uniform', loraRank: 0 });
    expect(Object.keys(DT_DEFAULTS).sort()).toEqual(Object.keys(DtConfigSchema.shape).sort());
    expect(dtConfig({ K: 6, embed: 16, heads: 2 })).toEqual({ ...DT_DEFAULTS, K: 6, embed: 16, heads: 2 });
  });

  it('rejects a typo key, naming it, instead of training with the default', () => {
    const call = () => dtConfig({ K: 6, embedd: 64 });
    expect(call).toThrow(ValidationError);
    expect(call).toThrow(/embedd: unknown key/);
  });

  it('rejects bad values and a head count that does not divide the width, naming the field', () => {
    expect(() => dtConfig({ dropout: 2 })).toThrow(/dt config: dropout:/);
    expect(() => dtConfig({ weighting: 'random' as never })).toThrow(/weighting/);
    expect(() => dtConfig({ embed: 10, heads: 3 })).toThrow(/embed 10 is not divisible by heads 3/);
  });

  it('embody train-offline stops on a typo key before reading any data', async () => {
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [path.join(PACKAGE_ROOT, 'bin', 'embody.js'), 'train-offline', '--dataset', path.join(tmp, 'no-such-dataset'), '--set', 'embedd=64'], {
        cwd: tmp,
        env: { ...process.env, FORCE_COLOR: '0' },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, stderr }));
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/embedd: unknown key/);
    expect(r.stderr).not.toMatch(/no-such-dataset/);
  }, 60_000);
});
