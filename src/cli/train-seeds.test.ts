import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../sim/scene.js';
import { compareRuns } from '../experiment/compare-runs.js';
import { parseSeedList } from './options.js';

/**
 * `embody train --seeds`: each seed a child process of its own (src/jobs local pool), each run
 * the one `embody train -s <seed>` makes, bit for bit; Ctrl-C ends every child.
 */
const BIN = path.join(PACKAGE_ROOT, 'bin', 'embody.js');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'embody-train-seeds-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function start(cwd: string, args: string[]): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, FORCE_COLOR: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
}

function finish(child: ChildProcess, timeout = 180_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const embody = (cwd: string, args: string[]) => finish(start(cwd, args));

/** Run directories (they hold config.json) anywhere under `root`. */
function runDirsUnder(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name === 'config.json')
    .map((e) => e.parentPath)
    .sort();
}

const config = (runDir: string) => JSON.parse(readFileSync(path.join(runDir, 'config.json'), 'utf8'));

/** metrics.jsonl without the fields that measure time (wall clock, throughput), which differ between any two runs. */
function metricsWithoutTiming(runDir: string): Record<string, unknown>[] {
  const lines = readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n');
  return lines.map((l) => Object.fromEntries(Object.entries(JSON.parse(l)).filter(([k]) => !TIMING.test(k))));
}
// The rule of experiment/compare-runs.ts (what `embody rerun` compares).
const TIMING = /^time$|^wall|PerSec$|Seconds$/;

/** Processes whose parent is `pid` (Linux /proc). */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .filter((n) => {
      try {
        // stat: "pid (comm) state ppid ..."; comm may hold spaces, so split after its closing parenthesis.
        const stat = readFileSync(`/proc/${n}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

// Small but whole runs: 8 PPO iterations of 256 steps, two evaluations of 2 episodes each.
const SMALL = ['train', 'cartpole', '-c', 'ppo', '--steps', '2048', '--set', 'evalEvery=1024', '--set', 'evalEpisodes=2', '-q'];

describe('parseSeedList', () => {
  it('reads lists and ranges, and refuses what is not a set of seeds', () => {
    expect(parseSeedList('0,1,2')).toEqual([0, 1, 2]);
    expect(parseSeedList('0-4')).toEqual([0, 1, 2, 3, 4]);
    expect(parseSeedList('3, 7-8,1')).toEqual([3, 7, 8, 1]);
    expect(() => parseSeedList('0,,1')).toThrow('an empty item');
    expect(() => parseSeedList('4-2')).toThrow('runs backwards');
    expect(() => parseSeedList('0-2,1')).toThrow('seed 1 is given twice');
    expect(() => parseSeedList('-1')).toThrow('"-1" is not a non-negative integer');
    expect(() => parseSeedList('a')).toThrow('--seeds expects seeds like 0,1,2 or a range 0-4');
  });
});

describe('embody train --seeds', () => {
  it('refuses --resume, --seed with --seeds, --workers without --seeds, and a bad --workers', async () => {
    const cwd = mkdtempSync(path.join(tmp, 'refuse-'));
    const resume = await embody(cwd, [...SMALL, '--seeds', '0,1', '--resume', 'runs/latest']);
    expect(resume.code).toBe(1);
    expect(resume.stderr).toContain('--seeds starts new runs and cannot --resume one');
    const both = await embody(cwd, [...SMALL, '--seeds', '0,1', '-s', '3']);
    expect(both.code).toBe(1);
    expect(both.stderr).toContain('give --seed or --seeds, not both');
    const workers = await embody(cwd, [...SMALL, '--workers', '2']);
    expect(workers.stderr).toContain('--workers goes with --seeds');
    const zero = await embody(cwd, [...SMALL, '--seeds', '0,1', '--workers', '0']);
    expect(zero.stderr).toContain('--workers expects a positive integer, got "0"');
    expect(runDirsUnder(path.join(cwd, 'runs'))).toEqual([]);
  }, 120_000);

  it('runs one process per seed, each the same run as -s <seed>, and prints each seed and the mean ± std', async () => {
    const cwd = mkdtempSync(path.join(tmp, 'seeds-'));
    const many = await embody(cwd, [...SMALL, '--seeds', '0,1', '--workers', '2', '-o', 'many']);
    expect(many.code, many.stderr).toBe(0);
    const runs = runDirsUnder(path.join(cwd, 'many'));
    expect(runs).toHaveLength(2);
    const bySeed = new Map(runs.map((dir) => [config(dir).seed as number, dir]));
    expect([...bySeed.keys()].sort()).toEqual([0, 1]);
    for (const [seed, dir] of bySeed) {
      // Each run in its own trial directory, named as `embody train -s <seed>` names it.
      expect(path.basename(dir)).toMatch(new RegExp(`-cartpole-ppo-s${seed}$`));
      expect(path.basename(path.dirname(dir))).toBe(`c0-s${seed}`);
      expect(existsSync(path.join(dir, 'policy', 'manifest.json'))).toBe(true);
    }
    // `embody runs` lists the seeds' runs inside the sweep directory, by their path below it.
    const listed = await embody(cwd, ['runs', 'many', '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    const rows = JSON.parse(listed.stdout) as { id: string; seed: number; finalReturn?: number }[];
    expect(rows.map((r) => r.id).sort()).toEqual(runs.map((d) => path.relative(path.join(cwd, 'many'), d)).sort());
    expect(rows.map((r) => r.seed).sort()).toEqual([0, 1]);
    expect(rows.every((r) => typeof r.finalReturn === 'number')).toBe(true);
    const finals: number[] = [];
    for (const seed of [0, 1]) {
      const line = many.stdout.split('\n').find((l) => l.startsWith(`seed ${seed}: final eval return `));
      expect(line, many.stdout).toBeDefined();
      expect(line).toContain(path.relative(cwd, bySeed.get(seed)!));
      const summary = JSON.parse(readFileSync(path.join(bySeed.get(seed)!, 'summary.json'), 'utf8'));
      expect(summary.envSteps).toBe(2048);
      finals.push(summary.finalEval.return.mean);
    }
    const mean = (finals[0] + finals[1]) / 2;
    const std = Math.sqrt(((finals[0] - mean) ** 2 + (finals[1] - mean) ** 2) / 1);
    const overall = many.stdout.split('\n').find((l) => l.startsWith('final eval return over 2 seed(s): '));
    expect(overall, many.stdout).toBeDefined();
    const [m, s] = overall!.replace('final eval return over 2 seed(s): ', '').split(' (')[0].split(' ± ').map(Number);
    expect(m).toBeCloseTo(mean, 1);
    expect(s).toBeCloseTo(std, 1);

    // The single-seed runs of the same seeds, one after another: the same metrics, line for line.
    for (const seed of [0, 1]) {
      const one = await embody(cwd, [...SMALL, '-s', String(seed), '-o', `one-s${seed}`]);
      expect(one.code, one.stderr).toBe(0);
      const [single] = runDirsUnder(path.join(cwd, `one-s${seed}`));
      const parallel = bySeed.get(seed)!;
      const expected = metricsWithoutTiming(single);
      // Two evaluations (steps 1024 and 2048), their returns among the figures compared.
      expect(expected.filter((l) => l.kind === 'eval').map((l) => [l.step, typeof l.return])).toEqual([[1024, 'number'], [2048, 'number']]);
      expect(metricsWithoutTiming(parallel)).toEqual(expected);
      // And the same weights in policy/ and policy-best/ (what `embody rerun` checks).
      const same = compareRuns(parallel, single);
      expect(same.differences).toEqual([]);
      expect(same.compared.join(' ')).toContain('policy/');
      const what = (c: Record<string, unknown>) => ({ command: c.command, scene: c.scene, controller: c.controller, seed: c.seed, backend: c.backend, config: c.config, hyperparameters: c.hyperparameters, select: c.select, sceneConfig: c.sceneConfig });
      expect(what(config(parallel))).toEqual(what(config(single)));
      expect(config(parallel).seed).toBe(seed);
    }
  }, 300_000);

  it('Ctrl-C (SIGINT to embody alone) ends every seed process and exits 130', async () => {
    const cwd = mkdtempSync(path.join(tmp, 'sigint-'));
    const child = start(cwd, ['train', 'cartpole', '-c', 'ppo', '--steps', '1000000', '-q', '--seeds', '0-2', '--workers', '2']);
    const done = finish(child);
    // Wait until two seeds are training (their run directories exist; the third seed waits for a free worker).
    for (let i = 0; i < 900 && runDirsUnder(path.join(cwd, 'runs')).length < 2; i++) await new Promise((r) => setTimeout(r, 100));
    expect(runDirsUnder(path.join(cwd, 'runs'))).toHaveLength(2);
    const seedProcesses = childrenOf(child.pid!);
    expect(seedProcesses).toHaveLength(2);
    expect(seedProcesses.every(alive)).toBe(true);
    child.kill('SIGINT');
    const r = await done;
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toContain("stopped: every seed's process has ended");
    for (const pid of seedProcesses) expect(alive(pid)).toBe(false);
    // The third seed never started.
    const sweep = readdirSync(path.join(cwd, 'runs'))[0];
    const state = JSON.parse(readFileSync(path.join(cwd, 'runs', sweep, 'sweep.json'), 'utf8'));
    expect(state.trials.map((t: { status: string }) => t.status).sort()).toEqual(['failed', 'failed', 'queued']);
  }, 120_000);
});
