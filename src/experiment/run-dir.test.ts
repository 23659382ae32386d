import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RunDir } from './run-dir.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'embody-rundir-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const fresh = () => path.join(tmp, `r${n++}`);

describe('run.lock', () => {
  const lockFile = (run: RunDir) => run.path('run.lock');
  const makeRun = () => RunDir.create(fresh(), { command: 'train', scene: 's', controller: 'c', seed: 0, backend: 'none' });

  it('refuses a second writer while the first is alive, and releases on request', () => {
    const run = makeRun();
    const release = run.lock();
    expect(JSON.parse(readFileSync(lockFile(run), 'utf8')).pid).toBe(process.pid);
    expect(() => RunDir.open(run.dir).lock()).toThrow(new RegExp(`run\\.lock: the run is in use by pid ${process.pid}`));
    release();
    RunDir.open(run.dir).lock()();
  });

  it('takes over a stale lock (dead pid, or torn), refuses one from another host', () => {
    const run = makeRun();
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!; // a pid that has exited
    writeFileSync(lockFile(run), JSON.stringify({ pid: dead, host: hostname(), startedAt: 'then' }));
    const release = run.lock();
    expect(JSON.parse(readFileSync(lockFile(run), 'utf8')).pid).toBe(process.pid);
    release();
    writeFileSync(lockFile(run), '{"pid":12');
    run.lock()();
    writeFileSync(lockFile(run), JSON.stringify({ pid: 1, host: 'elsewhere', startedAt: 'then' }));
    expect(() => run.lock()).toThrow(/locked by pid 1 on host elsewhere; if that process is gone, delete the lock file/);
  });
});

describe('metrics.jsonl reconciled to a checkpoint', () => {
  it('cuts lines after the checkpoint, never the ones it covers', () => {
    const run = makeRunWithMetrics();
    const covered = run.syncMetrics();
    run.logMetrics(3, { kind: 'late' });
    writeFileSync(run.path('metrics.jsonl'), readFileSync(run.path('metrics.jsonl'), 'utf8') + '{"torn');
    run.reconcileMetrics(covered.bytes, 2);
    expect(run.readMetrics().map((m) => m.step)).toEqual([1, 2]);
    expect(() => run.reconcileMetrics(covered.bytes, 3)).toThrow(/hold 2 lines, the checkpoint says 3/);
    expect(() => run.reconcileMetrics(covered.bytes + 100, 2)).toThrow(/the checkpoint covers \d+: metrics lines were lost/);
  });
});

function makeRunWithMetrics(): RunDir {
  const run = RunDir.create(fresh(), { command: 'train', scene: 's', controller: 'c', seed: 0, backend: 'none' });
  run.logMetrics(1, { kind: 'a' });
  run.logMetrics(2, { kind: 'b' });
  return run;
}

describe('RunDir.config()', () => {
  it('reads back what create wrote, extra keys included', () => {
    const run = RunDir.create(fresh(), { command: 'train', scene: 'cartpole', controller: 'ppo', seed: 3, backend: 'wasm', config: { steps: 512 }, hyperparameters: { gamma: 0.98 } });
    const c = RunDir.open(run.dir).config();
    expect(c).toMatchObject({ command: 'train', scene: 'cartpole', controller: 'ppo', seed: 3, backend: 'wasm', config: { steps: 512 }, hyperparameters: { gamma: 0.98 } });
    expect(typeof c.packageVersion).toBe('string');
  });

  it('names the file and the field of a damaged config.json', () => {
    const run = RunDir.create(fresh(), { command: 'train', scene: 'cartpole', controller: 'ppo', seed: 3, backend: 'wasm' });
    const file = run.path('config.json');
    const good = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(file, JSON.stringify({ ...good, seed: 'three' }));
    expect(() => run.config()).toThrow(/config\.json: seed: .*number/);
    writeFileSync(file, JSON.stringify({ ...good, controller: undefined }));
    expect(() => run.config()).toThrow(/config\.json: controller:/);
    writeFileSync(file, '{"command": "train", ');
    expect(() => run.config()).toThrow(/config\.json: .*JSON/);
  });
});
