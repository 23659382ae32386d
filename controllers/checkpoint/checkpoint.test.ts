import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCheckpointFiles, writeCheckpointFiles } from './checkpoint-io.js';
import { CheckpointStore } from './store.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'embody-ckpt-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const fresh = () => path.join(tmp, `c${n++}`);

const ARRAYS = { w: Float32Array.from([1.5, -2, Math.PI]), i: Int32Array.from([7, -9]), b: Uint8Array.from([1, 2, 3]) };

describe('learner checkpoint files', () => {
  it('round-trips arrays bit for bit and state exactly', () => {
    const dir = fresh();
    writeCheckpointFiles(dir, { kind: 'x', rng: [1, 2, 3, 4], x: 0.1 + 0.2 }, ARRAYS);
    const { state, arrays } = readCheckpointFiles(dir);
    expect(state.x).toBe(0.1 + 0.2);
    expect(arrays).toEqual(ARRAYS);
  });

  it('refuses to write over an existing checkpoint', () => {
    const dir = fresh();
    writeCheckpointFiles(dir, {}, ARRAYS);
    expect(() => writeCheckpointFiles(dir, {}, ARRAYS)).toThrow(/already exists/);
  });

  it('names the damaged file: a flipped byte, a torn state.json, a missing manifest', () => {
    const flipped = fresh();
    writeCheckpointFiles(flipped, {}, ARRAYS);
    const bin = readFileSync(path.join(flipped, 'arrays.bin'));
    bin[0] ^= 1;
    writeFileSync(path.join(flipped, 'arrays.bin'), bin);
    expect(() => readCheckpointFiles(flipped)).toThrow(/arrays\.bin: sha256 [0-9a-f]{12}…, the manifest says [0-9a-f]{12}… \(corrupted\)/);

    const torn = fresh();
    writeCheckpointFiles(torn, { a: 1 }, ARRAYS);
    const text = readFileSync(path.join(torn, 'state.json'), 'utf8');
    writeFileSync(path.join(torn, 'state.json'), text.slice(0, 10));
    expect(() => readCheckpointFiles(torn)).toThrow(/state\.json: 10 bytes, the manifest says \d+/);

    const noManifest = fresh();
    writeCheckpointFiles(noManifest, {}, ARRAYS);
    rmSync(path.join(noManifest, 'manifest.json'));
    expect(() => readCheckpointFiles(noManifest)).toThrow(/manifest\.json: missing \(an incomplete checkpoint\)/);

    const tornManifest = fresh();
    writeCheckpointFiles(tornManifest, {}, ARRAYS);
    writeFileSync(path.join(tornManifest, 'manifest.json'), '{"format":"embody.checkpoint/1","fi');
    expect(() => readCheckpointFiles(tornManifest)).toThrow(/manifest\.json: not a readable checkpoint manifest/);
  });
});

describe('CheckpointStore', () => {
  it('keeps the new and the previous generation; resume skips a damaged newest one and says why', async () => {
    const store = new CheckpointStore(fresh());
    for (let k = 1; k <= 3; k++) {
      await store.save((tmpDir) => {
        writeCheckpointFiles(path.join(tmpDir, 'learner'), { k }, ARRAYS);
        return ['learner/manifest.json'];
      });
    }
    expect(store.generations().map((g) => g.name)).toEqual(['gen-000003', 'gen-000002']);
    // A sub-manifest chains its files: damage inside learner/ makes the generation invalid.
    writeFileSync(path.join(store.generations()[0].dir, 'learner', 'state.json'), '{}');
    mkdirSync(path.join(store.root, '.tmp-gen-000004-1-2'));
    const reopened = new CheckpointStore(store.root);
    expect(reopened.cleanTemps()).toEqual(['.tmp-gen-000004-1-2']);
    const { found, skipped } = reopened.newestValid();
    expect(found?.name).toBe('gen-000002');
    expect(skipped).toEqual([{ name: 'gen-000003', reason: expect.stringMatching(/gen-000003.learner.state\.json: 2 bytes, the manifest says/) }]);
  });
});
