import { spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../sim/scene.js';

/**
 * The CLI as a new user meets it: every command runs from a fresh temporary directory
 * (runs/ lands there), through bin/embody.js, and we read what it prints and writes.
 */
const BIN = path.join(PACKAGE_ROOT, 'bin', 'embody.js');
const tmp: string[] = [];
const fresh = () => {
  const d = mkdtempSync(path.join(os.tmpdir(), 'embody-cli-'));
  tmp.push(d);
  return d;
};
afterAll(() => tmp.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Run embody and collect its output; asynchronous, so that vitest's worker stays responsive meanwhile. */
function embody(cwd: string, args: string[], timeout = 120_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, FORCE_COLOR: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
const runIds = (cwd: string) => (existsSync(path.join(cwd, 'runs')) ? readdirSync(path.join(cwd, 'runs')).filter((n) => n !== 'latest').sort() : []);

describe('embody run: defaults, conventions and errors', async () => {
  it('runs a task with its own baseline, 10 episodes from seed 0, population std', async () => {
    const cwd = fresh();
    const r = await embody(cwd, ['run', 'pendulum', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ scene: 'pendulum', controller: 'random', seed: 0, episodes: 10 });
    const [id] = runIds(cwd);
    const lines = readFileSync(path.join(cwd, 'runs', id, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.seed)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const returns = lines.map((l) => l.return as number);
    const mean = returns.reduce((a, b) => a + b, 0) / returns.length;
    expect(out.summary.return.std).toBeCloseTo(Math.sqrt(returns.reduce((a, b) => a + (b - mean) ** 2, 0) / returns.length), 9);
    // runs/latest points at it; triage resolves it and prints whole headers and the legend.
    expect(lstatSync(path.join(cwd, 'runs', 'latest')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(path.join(cwd, 'runs', 'latest'))).toBe(id);
    const t = await embody(cwd, ['triage', 'runs/latest']);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toMatch(/ loop +stagnation +exhaustion +failure +safety\n/);
    expect(t.stdout).toContain(`run ${id}`);
    expect(t.stdout).toContain('each signal cell is severity(count)');
  });

  it('has one default scene for run and train, and one episodes/seed convention for run and eval', async () => {
    const { buildProgram } = await import('./program.js');
    const program = await buildProgram();
    const cmd = (name: string) => program.commands.find((c) => c.name() === name)!;
    for (const name of ['run', 'train', 'collect']) expect(cmd(name).registeredArguments[0].defaultValue).toBe('uav-small');
    for (const name of ['run', 'eval']) {
      const opt = (flag: string) => cmd(name).options.find((o) => o.long === flag)!;
      expect([opt('--episodes').defaultValue, opt('--seed').defaultValue]).toEqual(['10', '0']);
      expect(opt('--seed').description).toBe('seed of the first episode; episode i uses seed + i');
    }
    // eval's defaults at work, from a fresh directory: see the train block below (eval.json says episodes, seed).
  });

  it('suggests names, lists only the controllers of the task, and refuses -n 0', async () => {
    const cwd = fresh();
    const scene = await embody(cwd, ['run', 'uav-smal']);
    expect(scene.code).toBe(1);
    expect(scene.stderr).toContain('unknown scene "uav-smal". Did you mean "uav-small"?');
    const ctl = await embody(cwd, ['run', 'uav-small', '-c', 'tuor']);
    expect(ctl.stderr).toContain('unknown controller "tuor". Did you mean "tour"?');
    expect(ctl.stderr).toContain('Controllers for uav-data-collection: random, hover, greedy, tour;');
    const other = await embody(cwd, ['run', 'pendulum', '-c', 'tour']);
    expect(other.stderr).toContain('Controllers for Pendulum-v1: random;');
    expect(other.stderr).not.toContain('greedy');
    const zero = await embody(cwd, ['run', 'pendulum', '-n', '0']);
    expect(zero.code).toBe(1);
    expect(zero.stderr).toContain('--episodes expects a positive integer, got "0"');
    expect(runIds(cwd)).toEqual([]);
  });

  it('prints a bad scene as file: path: reason lines, without zod JSON', async () => {
    const cwd = fresh();
    writeFileSync(path.join(cwd, 'bad.json'), JSON.stringify({ task: 'pendulum', name: 'p', description: 'd', g: -1, colour: 1 }));
    const r = await embody(cwd, ['run', 'bad.json']);
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const l of lines) expect(l).toMatch(/^(embody: )?bad\.json: [\w.[\]()]+: /);
    expect(r.stderr).not.toMatch(/caused by|"code"|"path"/);
  });

  it('keeps the old spellings as aliases that warn', async () => {
    const cwd = fresh();
    const r = await embody(cwd, ['run', 'pendulum', '--policy', 'random', '-n', '1', '--no-save', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('--policy is deprecated; use -c/--controller');
    expect(JSON.parse(r.stdout).controller).toBe('random');
    expect((await embody(cwd, ['bridge', '--help'])).stdout).toMatch(/-c, --controller <dir\|name>/);
  });

  it('run --view exits when its episodes end if an `embody view` hosts the page', async () => {
    const cwd = fresh();
    const view = spawn(process.execPath, [BIN, 'view', '--port', '0', '--runs', path.join(cwd, 'runs')], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let text = '';
        view.stdout.on('data', (d) => {
          text += d;
          const m = /embody viewer at (http:\/\/[^\s]+)/.exec(text);
          if (m) resolve(m[1]);
        });
        view.once('exit', () => reject(new Error(`view exited: ${text}`)));
      });
      const port = new URL(url).port;
      const t0 = Date.now();
      const r = await embody(cwd, ['run', 'pendulum', '-n', '2', '--no-save', '--view', '--port', port], 60_000);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).not.toContain('still serving');
      expect(Date.now() - t0).toBeLessThan(60_000);
      // The old `--view <port>` form still works and says so.
      const old = await embody(cwd, ['run', 'pendulum', '-n', '1', '--no-save', '--view', port], 60_000);
      expect(old.code, old.stderr).toBe(0);
      expect(old.stderr).toContain(`--view ${port} is deprecated; use --view --port ${port}`);
    } finally {
      view.kill('SIGTERM');
    }
  });
});

describe('embody train-offline: --config is a file', async () => {
  it('reads a file, names a missing one, and warns for the old inline JSON before reading any data', async () => {
    const cwd = fresh();
    const missing = await embody(cwd, ['train-offline', '-d', 'no-such-dataset', '--config', 'dt.json']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('--config dt.json: no such file');
    writeFileSync(path.join(cwd, 'dt.json'), '{"K": 5');
    expect((await embody(cwd, ['train-offline', '-d', 'no-such-dataset', '--config', 'dt.json'])).stderr).toContain('--config dt.json: invalid JSON');
    const inline = await embody(cwd, ['train-offline', '-d', 'no-such-dataset', '--config', '{"K":5}', '--set', 'embed=16']);
    expect(inline.stderr).toContain('--config <inline JSON> is deprecated; use --config <file> or --set key=value');
    // Past the config, the dataset is what is missing: the config was read.
    expect(inline.stderr).toMatch(/no-such-dataset/);
    expect(runIds(cwd)).toEqual([]);
  });
});

describe('embody train, rerun, runs, eval, plot', async () => {
  const cwd = fresh();
  let train: Awaited<ReturnType<typeof embody>>;
  let id: string;
  beforeAll(async () => {
    writeFileSync(path.join(cwd, 'ppo.json'), JSON.stringify({ evalEpisodes: 2 }));
    // 300 steps are not a whole number of PPO rollouts (8 envs × 32 steps = 256): 512 run.
    train = await embody(cwd, ['train', 'cartpole', '-c', 'ppo', '--steps', '300', '--config', 'ppo.json', '--set', 'evalEvery=256', '--set', 'learningRate=0.002']);
    id = runIds(cwd)[0];
  }, 180_000);

  it('rounds steps to whole rollouts and says so; one line per evaluation off a TTY', async () => {
    expect(train.code, train.stderr).toBe(0);
    expect(train.stderr).toContain('ppo: --steps 300 rounded up to 512, a whole number of iterations of 256 env steps');
    const evalLines = train.stderr.split('\n').filter((l) => l.startsWith('cartpole ppo s0: step '));
    expect(evalLines.map((l) => l.split(' · ')[0])).toEqual(['cartpole ppo s0: step 256/512', 'cartpole ppo s0: step 512/512']);
    expect(train.stdout).toMatch(/cartpole · ppo · 512 steps · /);
    expect(train.stdout).toContain('policy-best/ by return: from step');
  });

  it('records the full resolved hyper-parameters, the merged config and the scene in config.json', async () => {
    const config = JSON.parse(readFileSync(path.join(cwd, 'runs', id, 'config.json'), 'utf8'));
    expect(config.config).toMatchObject({ steps: 512, evalEvery: 256, evalEpisodes: 2, learningRate: 0.002, numSteps: 32 });
    // Defaults the config files never named are there too.
    expect(config.hyperparameters).toMatchObject({ learningRate: 0.002, numEnvs: 8, numSteps: 32, totalSteps: 512 });
    expect(Object.keys(config.hyperparameters).length).toBeGreaterThan(Object.keys(config.config).length - 4);
    expect(config.sceneConfig).toMatchObject({ task: 'cartpole', name: 'cartpole' });
    expect(config.select).toEqual({ metric: 'return' });
  });

  it('rerun reproduces the run bit-exactly, found by prefix', async () => {
    const r = await embody(cwd, ['rerun', `runs/${id.slice(0, 15)}`]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toContain(`rerun of ${id}`);
    expect(r.stdout).toMatch(/identical: metrics\.jsonl \(\d+ lines\), policy\/ \(model\.json, weights\.bin\)/);
  }, 120_000);

  it('runs lists the runs; eval resolves runs/latest to its policy/ and writes eval.json', async () => {
    const list = await embody(cwd, ['runs']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`${id} +train +cartpole +cartpole +ppo +0 +512 steps +[\\d.]+`));
    const ev = await embody(cwd, ['eval', 'runs/latest', '-n', '3']);
    expect(ev.code, ev.stderr).toBe(0);
    const latest = readlinkSync(path.join(cwd, 'runs', 'latest'));
    const written = JSON.parse(readFileSync(path.join(cwd, 'runs', latest, 'eval.json'), 'utf8'));
    expect(written).toMatchObject({ episodes: 3, seed: 0, std: 'population' });
    expect(written.summary.return.mean).toBeGreaterThan(0);
    expect(ev.stdout).toContain(`wrote ${path.join(cwd, 'runs', latest, 'eval.json')}`);
  });

  it('plot with an unknown metric is an error that names the known ones', async () => {
    const r = await embody(cwd, ['plot', `runs/${id}`, '--metric', 'retrun']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('has no evaluation figure "retrun". Did you mean "return"?');
    expect(existsSync(path.join(cwd, 'runs', id, 'learning-curve.svg'))).toBe(false);
    expect((await embody(cwd, ['plot', `runs/${id}`])).code).toBe(0);
  });

  it('plot draws the training curve a results JSON stores (figures.training), and names a missing one', async () => {
    const file = path.join(cwd, 'results.json');
    const training = [1, 2, 3].map((k) => ({ motions: 25 * k, loss: 0.1 / k, success: 0.2 * k, epsilon: 0.5 }));
    writeFileSync(file, JSON.stringify({ suite: 'check-x', figures: { rows: [], training } }));
    const r = await embody(cwd, ['plot', file, '--out', path.join(cwd, 'curve.svg')]);
    expect(r.code, r.stderr).toBe(0);
    const svg = readFileSync(path.join(cwd, 'curve.svg'), 'utf8');
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    expect(svg).toContain('>motions<');
    writeFileSync(file, JSON.stringify({ suite: 'check-x', figures: { rows: [] } }));
    const bad = await embody(cwd, ['plot', file]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('has no training curve');
  });

  it('--select picks policy-best/ by another figure, and config.json records the rule', async () => {
    const sub = fresh();
    const r = await embody(sub, ['train', 'cartpole', '-c', 'ppo', '--steps', '256', '--set', 'evalEvery=256', '--set', 'evalEpisodes=1', '--select', 'length']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('policy-best/ by length: from step 256');
    const [only] = runIds(sub);
    expect(JSON.parse(readFileSync(path.join(sub, 'runs', only, 'config.json'), 'utf8')).select).toEqual({ metric: 'length' });
    expect(JSON.parse(readFileSync(path.join(sub, 'runs', only, 'summary.json'), 'utf8')).selection).toEqual({ rule: 'length', step: 256 });
  });

  it('a failed train leaves no run directory: a bad key, and a --select figure the task lacks', async () => {
    const before = runIds(cwd);
    const bad = await embody(cwd, ['train', 'cartpole', '-c', 'ppo', '--steps', '256', '--set', 'learningRat=1']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('unknown key "learningRat"');
    const sel = await embody(cwd, ['train', 'cartpole', '-c', 'ppo', '--steps', '256', '--select', 'efficiencyBitPerJ']);
    expect(sel.code).toBe(1);
    expect(sel.stderr).toContain('no figure "efficiencyBitPerJ"; known: return, length, finalX, finalTheta');
    expect(runIds(cwd)).toEqual(before);
  });
});
