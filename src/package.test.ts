import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../sim/scene.js';

/**
 * The published package, as a user gets it: `npm pack` (which builds dist/ with tsc in
 * prepack), unpacked into a fresh project's node_modules/embody, and run with plain Node.
 * The registry cannot be reached offline and the npm cache does not hold every dependency,
 * so the dependencies are this checkout's node_modules, linked one by one, except tsx: the
 * package must run without it.
 */
// Asynchronous on purpose: a synchronous child blocks vitest's worker for the ~60 s of `npm pack`.
const run = async (cmd: string, args: string[], cwd: string) => (await promisify(execFile)(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20 })).stdout;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'embody-pack-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('the packed tarball', () => {
  it('imports from plain Node: make → reset/step → train (PPO, CartPole) → loadPolicy → evaluate, and register', { timeout: 170_000 }, async () => {
    const packed = JSON.parse(await run('npm', ['pack', '--json', '--pack-destination', tmp], PACKAGE_ROOT));
    const tarball = path.join(tmp, packed[0].filename);
    const files: string[] = packed[0].files.map((f: { path: string }) => f.path);
    expect(files).toContain('dist/src/index.js');
    expect(files).toContain('dist/src/index.d.ts');
    expect(files).toContain('scenes/cartpole.json');
    expect(files.some((f) => f.endsWith('.test.js') || (f.endsWith('.ts') && !f.endsWith('.d.ts')))).toBe(false);

    const project = path.join(tmp, 'project');
    const pkgDir = path.join(project, 'node_modules', 'embody');
    mkdirSync(pkgDir, { recursive: true });
    writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'user-project', private: true, type: 'module' }));
    await run('tar', ['xzf', tarball, '-C', pkgDir, '--strip-components=1'], project);
    const deps = path.join(project, 'node_modules');
    for (const name of readdirSync(path.join(PACKAGE_ROOT, 'node_modules'))) {
      if (name === 'tsx' || name.startsWith('.') || existsSync(path.join(deps, name))) continue;
      symlinkSync(path.join(PACKAGE_ROOT, 'node_modules', name), path.join(deps, name));
    }
    for (const f of ['quickstart.mjs', 'point-mass.mjs', 'point-mass.json']) cpSync(path.join(pkgDir, 'examples', f), path.join(project, f));

    const printed = await run(process.execPath, ['quickstart.mjs', path.join(project, 'runs')], project);
    const report = JSON.parse(printed.trim().split('\n').at(-1)!);
    expect(report.cartpole).toEqual({ observationSize: 4, discrete: true, firstReward: 1, terminated: false });
    // 512 steps are two whole PPO rollouts (8 envs × 32 steps), evaluated after each.
    expect(report.train.envSteps).toBe(512);
    expect(report.train.evals).toEqual([256, 512]);
    const runDir = report.train.runDir;
    // train() hands back the loaded final policy (CartPole: an integer action) and policy-best/.
    expect([0, 1]).toContain(report.train.firstAction);
    expect(report.train.bestPolicyDir).toBe(path.join(runDir, 'policy-best'));
    expect(existsSync(path.join(report.train.bestPolicyDir, 'manifest.json'))).toBe(true);
    expect(existsSync(path.join(runDir, 'policy', 'manifest.json'))).toBe(true);
    const config = JSON.parse(readFileSync(path.join(runDir, 'config.json'), 'utf8'));
    expect(config.hyperparameters).toMatchObject({ numEnvs: 8, numSteps: 32, gamma: 0.98 });
    // evaluate() is SB3's evaluate_policy: population std of the returns.
    const r: number[] = report.evaluate.returns;
    const mean = r.reduce((a, b) => a + b, 0) / r.length;
    expect(report.evaluate.meanReturn).toBeCloseTo(mean, 9);
    expect(report.evaluate.stdReturn).toBeCloseTo(Math.sqrt(r.reduce((a, b) => a + (b - mean) ** 2, 0) / r.length), 9);
    expect(r.every((x) => x >= 8 && x <= 500)).toBe(true);
    // The registered example task: full push for 5 steps of 0.05 s at 2 N on 1 kg moves x by 2·Σk·dt² = 2·15·0.0025.
    expect(report.pointMass.id).toBe('point-mass');
    expect(report.pointMass.actionIsBox).toBe(true);
    expect(report.pointMass.x5 - report.pointMass.x0).toBeCloseTo(2 * 15 * 0.0025, 5);
    expect(report.pointMass.pushReturn).toBeLessThan(0);

    // The CLI runs from the package too, with no tsx to fall back on.
    const cli = await run(process.execPath, [path.join(pkgDir, 'bin', 'embody.js'), 'run', 'cartpole', '-n', '1', '--no-save', '--json'], project);
    expect(JSON.parse(cli).scene).toBe('cartpole');
  });
});
