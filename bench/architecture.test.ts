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

  it('reads the repository', () => {
    const { edges } = importGraph(readSources(ROOT));
    expect(edges.length).toBeGreaterThan(100);
  });
});
