import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { backEdges, fileCycles, importGraph, readSources, type SourceFile } from './architecture.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

describe('architecture: imports flow one way', () => {
  const fixture: SourceFile[] = [
    { file: 'src/core/env.ts', text: `export interface Env {}` },
    { file: 'sim/task.ts', text: `import type { Env } from '../src/core/env.js';` },
    { file: 'controllers/sac.ts', text: `import '../sim/task.js';` },
  ];

  it('accepts a fixture whose imports go down the layers', () => {
    const { edges, computed } = importGraph(fixture);
    expect(edges).toHaveLength(2);
    expect(backEdges(edges)).toEqual([]);
    expect(fileCycles(edges)).toEqual([]);
    expect(computed).toEqual([]);
  });

  it('fails on a back-edge between folders, even a type-only one', () => {
    const bad = [...fixture, { file: 'sim/uses-controller.ts', text: `import type { X } from '../controllers/sac.js';` }];
    expect(backEdges(importGraph(bad).edges)).toEqual([{ from: 'sim/uses-controller.ts', to: 'controllers/sac.ts', typeOnly: true }]);
  });

  it('fails on a cycle between files of one folder', () => {
    const bad = [
      { file: 'sim/a.ts', text: `import { b } from './b.js'; export const a = 1;` },
      { file: 'sim/b.ts', text: `import type { a } from './a.js'; export const b = 2;` },
    ];
    expect(fileCycles(importGraph(bad).edges)).toEqual([['sim/a.ts', 'sim/b.ts']]);
  });

  it('fails on a dynamic import of a computed path', () => {
    const bad = [{ file: 'hardware/agent.ts', text: `const m = './x.js'; await import(m); await import('./y.js');` }];
    const { edges, computed } = importGraph(bad);
    expect(computed).toEqual([{ file: 'hardware/agent.ts', expr: 'm' }]);
    expect(edges.map((e) => e.to)).toEqual(['hardware/y.ts']);
  });

  it('lets an optional npm package be imported by a computed name, never one of our files', () => {
    const ok = [{ file: 'controllers/backend.ts', text: `await import('webgpu' as string); await import(name === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : ('@tensorflow/tfjs-node' as string));` }];
    expect(importGraph(ok).computed).toEqual([]);
    const bad = [{ file: 'controllers/backend.ts', text: `await import('../hardware/agent.js' as string);` }];
    expect(importGraph(bad).computed).toHaveLength(1);
  });

  describe('the repository', () => {
    const { edges, computed } = importGraph(readSources(ROOT));

    it('has no back-edge between folders', () => {
      expect(edges.length).toBeGreaterThan(100);
      expect(backEdges(edges)).toEqual([]);
    });

    it('imports computed paths only at its plugin points', () => {
      // Each of these loads a module the user names (a bench suite, an env factory for worker
      // threads, a sweep's trial function or command, a Rapier build to compare). Anything
      // else computed is an error.
      const PLUGIN_POINTS = [
        'bench/rapier-builds-child.ts: pathToFileURL(entry).href',
        'src/cli/commands/bench.ts: `../../../bench/${suite}.ts`',
        'src/core/async-vector-env-worker.ts: data.module',
        'src/jobs/trial.ts: `../cli/commands/${job.command}.ts`',
        "src/jobs/trial.ts: pathToFileURL(path.resolve(PACKAGE_ROOT, job.module ?? '')).href",
      ];
      expect(computed.map((c) => `${c.file}: ${c.expr}`).sort()).toEqual(PLUGIN_POINTS.sort());
    });

    it('imports the Rapier package in sim/rapier.ts only', () => {
      // One module owns the build (scalar or SIMD, which version): switching is one file and package.json.
      const importers = readSources(ROOT)
        .filter((s) => /(from\s+|import\s*\(\s*|import\s+)['"]@dimforge\//.test(s.text))
        .map((s) => s.file);
      expect(importers).toEqual(['sim/rapier.ts']);
    });

    it('has no file cycle beyond the two still to be broken (issue 18)', () => {
      // A ratchet: a new cycle fails here. These two remain: the learner registry and the policy
      // loader import the learners and runtimes that import them back; the device driver
      // interface and the simulated device import each other.
      const KNOWN = [
        'controllers/dqn/dqn.ts controllers/dqn/q-network.ts controllers/manipulation/agent.ts controllers/planning/agent.ts controllers/planning/composite.ts controllers/policy/convert.ts controllers/policy/index.ts controllers/policy/load-policy.ts controllers/ppo/ppo.ts controllers/registry.ts controllers/sac/sac.ts',
        'hardware/devices/driver.ts hardware/devices/sim.ts',
      ];
      expect(fileCycles(edges).map((c) => c.join(' ')).sort()).toEqual(KNOWN.sort());
    });
  });
});
