import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../src/core/errors.js';
import { baselineOf, listScenes, loadScene } from './registry.js';
import { PACKAGE_ROOT, SCENES_DIR } from './scene.js';

function writeScene(mutate: (s: any) => void): string {
  const s = JSON.parse(readFileSync(path.join(SCENES_DIR, 'uav-small.json'), 'utf8'));
  mutate(s);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'embody-scene-'));
  const file = path.join(dir, 'x.json');
  writeFileSync(file, JSON.stringify(s));
  return file;
}

function errorOf(file: string): ValidationError {
  try {
    loadScene(file);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return err as ValidationError;
  }
  throw new Error('expected a validation error');
}

describe('scene files', () => {
  it('every shipped scene validates', () => {
    const rows = listScenes();
    expect(rows.length).toBeGreaterThanOrEqual(3);
    for (const r of rows) expect(r.error, `${r.name}: ${r.error}`).toBeUndefined();
    expect(rows.map((r) => r.name)).toEqual(expect.arrayContaining(['uav-small', 'uav-city', 'uav-sparse']));
  });

  it('a bad field names the file, the JSON path and the reason', () => {
    const file = writeScene((s) => (s.devices[3].dataMbit = -5));
    expect(errorOf(file).message).toMatch(/x\.json: devices\[3\]\.dataMbit: expected a positive number$/);
  });

  it('a missing field, a wrong type, an unknown field and an unknown task are each named', () => {
    expect(errorOf(writeScene((s) => delete s.uav.start)).message).toMatch(/: uav\.start: /);
    expect(errorOf(writeScene((s) => (s.area.size = 'big'))).message).toMatch(/: area\.size: expected \[Lx, Ly\]/);
    expect(errorOf(writeScene((s) => (s.devices[0].dataMbits = 3))).message).toMatch(/: devices\[0\]: unknown field "dataMbits"/);
    expect(errorOf(writeScene((s) => (s.task = 'submarine'))).message).toMatch(/: task: expected a task kind/);
  });

  it('invalid JSON is reported with the file name', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'embody-scene-'));
    const file = path.join(dir, 'broken.json');
    writeFileSync(file, '{"name": ');
    expect(errorOf(file).message).toMatch(/broken\.json: \(root\): invalid JSON/);
  });

  it('`embody check` prints the error and exits 1', () => {
    const file = writeScene((s) => (s.devices[3].dataMbit = 0));
    let out = '';
    let code = 0;
    try {
      execFileSync(process.execPath, [path.join(PACKAGE_ROOT, 'bin/embody.js'), 'check', file], { encoding: 'utf8', stdio: 'pipe' });
    } catch (err: any) {
      code = err.status;
      out = err.stderr;
    }
    expect(code).toBe(1);
    expect(out).toMatch(/devices\[3\]\.dataMbit: expected a positive number/);
  });
});

describe('baselineOf', () => {
  it("gives each scene a baseline that can play it: the navigator where the pose is observed, random on a waypoint scene", () => {
    expect(baselineOf(loadScene('nav-office').scene)).toBe('nav-pursuit-critic');
    expect(baselineOf(loadScene('nav-waypoint').scene)).toBe('random');
    expect(baselineOf(loadScene('uav-small').scene)).toBe('tour');
    expect(baselineOf(loadScene('pendulum').scene)).toBe('random');
  });
});
