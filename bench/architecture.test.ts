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
      // Each of these loads a module the user names: a bench suite of the checkout (bench/ is above
      // the CLI and not in the package: src/cli/commands/bench.ts says why it is not injected), a
      // Rapier build or another checkout's registry to compare with, an env factory for worker
      // threads, a function sweep's trial module. Anything else computed is
      // an error: registries take their entries by static (or literal lazy) imports.
      const PLUGIN_POINTS = [
        'src/cli/commands/bench.ts: pathToFileURL(file).href',
        'bench/rapier-builds-child.ts: pathToFileURL(entry).href',
        "bench/env-split.ts: pathToFileURL(path.join(checkout, 'sim', 'registry.ts')).href",
        'src/core/async-vector-env-worker.ts: data.module',
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

    it('names only bench suites that exist: each BENCH_SUITES key has its bench/<suite>.ts exporting runBench', async () => {
      const { BENCH_SUITES } = await import('../src/cli/commands/bench.js');
      const byFile = new Map(readSources(ROOT).map((s) => [s.file, s.text]));
      const missing = Object.keys(BENCH_SUITES).filter((k) => !/export async function runBench\b/.test(byFile.get(`bench/${k}.ts`) ?? ''));
      expect(Object.keys(BENCH_SUITES).length).toBeGreaterThan(5);
      expect(missing).toEqual([]);
    });

    it('has no cycle between files, not even a type-only one', () => {
      expect(fileCycles(edges)).toEqual([]);
    });
  });
});
