import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../sim/scene.js';
import { collect } from '../experiment/collect.js';
import { readDataset } from './minari.js';
import { parseMix } from './mix.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'embody-collect-damage-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const MIX = 'greedy:0.5,random:0.5';
const ARGS = { scene: 'uav-small', sources: parseMix(MIX, 0.3), episodes: 4, seed: 7, chunkSize: 2 };

describe('collect: damaged chunks and leftover temp files', () => {
  it('a truncated chunk is named in one line, discarded and collected again; stale temp files are removed', async () => {
    const out = path.join(tmp, 'damaged');
    await collect({ ...ARGS, out, maxChunks: 1, warn: () => {} });
    const partial = path.join(out, 'data', '.partial');
    const chunk = path.join(partial, 'chunk-00000.hdf5');
    truncateSync(chunk, Math.floor(statSync(chunk).size / 2));
    // What an interrupted merge and an interrupted chunk write leave behind, from a process that is gone.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    writeFileSync(path.join(out, 'data', `main_data.hdf5.tmp-${dead}-1`), 'half a file');
    writeFileSync(path.join(partial, `chunk-00001.hdf5.tmp-${dead}-2`), 'half a chunk');

    // The real CLI, so that everything it prints is seen (HDF5's own diagnostics included).
    const cli = spawnSync(process.execPath, [path.join(PACKAGE_ROOT, 'bin/embody.js'), 'collect', 'uav-small', '--mix', MIX, '-n', '4', '-s', '7', '--chunk', '2', '-o', out], { encoding: 'utf8' });
    expect(cli.status, cli.stderr).toBe(0);
    const lines = cli.stderr.split('\n').filter(Boolean);
    expect(lines.filter((l) => l.includes('chunk-00000.hdf5:'))).toEqual([
      expect.stringMatching(/chunk-00000\.hdf5: \d+ bytes, its record says \d+ \(truncated\); discarded, collecting it again$/),
    ]);
    expect(lines.filter((l) => /removed a temp file/.test(l))).toHaveLength(2);
    expect(cli.stderr).not.toMatch(/HDF5|name not defined/);
    expect(lines).toHaveLength(3);
    expect(cli.stdout).not.toMatch(/resumed/); // the damaged chunk was collected again, not reused
    expect(existsSync(partial)).toBe(false);
    expect(readdirSync(path.join(out, 'data')).sort()).toEqual(['main_data.hdf5', 'metadata.json']);

    // Same dataset as one uninterrupted collection.
    const ref = path.join(tmp, 'ref');
    await collect({ ...ARGS, out: ref });
    const [a, b] = [await readDataset(out), await readDataset(ref)];
    expect(a.episodes.length).toBe(4);
    for (let i = 0; i < 4; i++) expect(Array.from(a.episodes[i].observations)).toEqual(Array.from(b.episodes[i].observations));
  }, 180_000);

  it('a chunk without its record (stopped between the two writes) is collected again', async () => {
    const out = path.join(tmp, 'norecord');
    await collect({ ...ARGS, out, maxChunks: 1 });
    rmSync(path.join(out, 'data', '.partial', 'chunk-00000.json'));
    const lines: string[] = [];
    const r = await collect({ ...ARGS, out, warn: (l) => lines.push(l) });
    expect(r.resumedChunks).toBe(0);
    expect(lines).toEqual([expect.stringMatching(/chunk-00000\.hdf5: no record chunk-00000\.json .*; discarded, collecting it again$/)]);
    expect(r.card.episodes).toBe(4);
  }, 120_000);
});
