import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fileCycles, importGraph, readSources, type ImportEdge } from './architecture.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Inside sim/ imports flow one way too (sim/README.md): the contract and the shared world
 * (sim/*.ts) < sensors < the task kinds, none of which imports another < the registry < the
 * public entry. A part may import only parts of a lower layer, or itself.
 */
const SIM_LAYERS: string[][] = [
  ['sim/*.ts'],
  ['sim/sensors'],
  ['sim/classic', 'sim/manipulation', 'sim/navigation', 'sim/uav'],
  ['sim/registry.ts'],
  ['sim/index.ts'],
];

/** The part of sim/ a file belongs to: its subfolder, the registry, the entry, or the shared sim/*.ts. */
function simPartOf(file: string): string {
  const parts = file.split('/');
  if (parts.length > 2) return `sim/${parts[1]}`;
  return file === 'sim/registry.ts' || file === 'sim/index.ts' ? file : 'sim/*.ts';
}

/** Edges between sim parts that go up or sideways, or touch a part SIM_LAYERS does not know. */
function simBackEdges(edges: ImportEdge[]): ImportEdge[] {
  const layer = (part: string) => SIM_LAYERS.findIndex((l) => l.includes(part));
  return edges.filter((e) => {
    if (!e.from.startsWith('sim/') || !e.to.startsWith('sim/')) return false;
    const a = simPartOf(e.from);
    const b = simPartOf(e.to);
    if (a === b) return false;
    const la = layer(a);
    const lb = layer(b);
    return la < 0 || lb < 0 || lb >= la;
  });
}

describe('architecture inside sim/', () => {
  it('rejects a sensor that imports a task, a task that imports another, and an unknown folder', () => {
    const bad = [
      { file: 'sim/sensors/camera.ts', text: `import type { ManipState } from '../manipulation/model.js';` },
      { file: 'sim/manipulation/model.ts', text: `import '../navigation/grid.js';` },
      { file: 'sim/navigation/grid.ts', text: `export const g = 1;` },
      { file: 'sim/robots/arm.ts', text: `import '../task.js';` },
      { file: 'sim/task.ts', text: `export interface Task {}` },
    ];
    expect(simBackEdges(importGraph(bad).edges).map((e) => `${e.from} -> ${e.to}`)).toEqual([
      'sim/sensors/camera.ts -> sim/manipulation/model.ts',
      'sim/manipulation/model.ts -> sim/navigation/grid.ts',
      'sim/robots/arm.ts -> sim/task.ts',
    ]);
  });

  describe('the repository', () => {
    const { edges } = importGraph(readSources(ROOT));
    const simEdges = edges.filter((e) => e.from.startsWith('sim/') && e.to.startsWith('sim/'));

    it('imports one way between the parts of sim/', () => {
      expect(simEdges.length).toBeGreaterThan(50);
      expect(simBackEdges(simEdges)).toEqual([]);
    });

    it('has no file cycle inside sim/', () => {
      expect(fileCycles(simEdges)).toEqual([]);
    });
  });
});
