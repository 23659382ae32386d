import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fsyncDir, renameDurable, verifyCheckpointDir, writeManifest, type CheckpointFaults } from './manifest.js';

/**
 * Checkpoint generations of one run: `checkpoints/gen-000001/`, `gen-000002/`, … each a whole
 * checkpoint with its manifest. A new generation is filled under `.tmp-gen-*`, its manifest written
 * last, verified from disk, and only then renamed to its final name (one atomic rename, no
 * directory is ever moved aside). Older generations are removed after that, except the previous
 * good one. So at every instant the directory holds at least one valid checkpoint.
 *
 * Resume takes the newest generation that verifies and says which newer ones it skipped and why.
 */
const GEN = /^gen-(\d{6,})$/;
const TEMP = /^\.(tmp|trash)-/;

export interface Generation {
  name: string;
  seq: number;
  dir: string;
}

/** A generation that did not verify, with the reason (it names the file). */
export interface SkippedGeneration {
  name: string;
  reason: string;
}

export class CheckpointStore {
  /** The newest generation known to be good (saved or resumed by this process); kept on the next save. */
  private previous: string | null = null;

  constructor(readonly root: string) {}

  /** Generations on disk, newest first. */
  generations(): Generation[] {
    if (!existsSync(this.root)) return [];
    return readdirSync(this.root)
      .flatMap((name) => {
        const m = GEN.exec(name);
        return m ? [{ name, seq: Number(m[1]), dir: path.join(this.root, name) }] : [];
      })
      .sort((a, b) => b.seq - a.seq);
  }

  /** The newest generation that verifies, or null (with `skipped` holding every reason) when none does. */
  newestValid(): { found: Generation | null; skipped: SkippedGeneration[] } {
    const skipped: SkippedGeneration[] = [];
    for (const g of this.generations()) {
      try {
        verifyCheckpointDir(g.dir);
        this.previous = g.name;
        return { found: g, skipped };
      } catch (err) {
        skipped.push({ name: g.name, reason: (err as Error).message });
      }
    }
    return { found: null, skipped };
  }

  /** Remove what an interrupted save or removal left behind (`.tmp-*`, `.trash-*`). */
  cleanTemps(): string[] {
    if (!existsSync(this.root)) return [];
    const left = readdirSync(this.root).filter((n) => TEMP.test(n));
    for (const n of left) rmSync(path.join(this.root, n), { recursive: true, force: true });
    return left;
  }

  /**
   * Write a new generation: `fill` writes its files into the temp directory and returns their paths
   * (relative; a sub-checkpoint's `sub/manifest.json` stands for its files). Returns the new directory.
   */
  async save(fill: (tmpDir: string) => Promise<string[]> | string[], faults?: CheckpointFaults): Promise<string> {
    mkdirSync(this.root, { recursive: true });
    const seq = (this.generations()[0]?.seq ?? 0) + 1;
    const name = `gen-${String(seq).padStart(6, '0')}`;
    const tmp = path.join(this.root, `.tmp-${name}-${process.pid}-${Date.now()}`);
    mkdirSync(tmp);
    try {
      const files = await fill(tmp);
      writeManifest(tmp, files, faults);
      verifyCheckpointDir(tmp); // complete and readable before it may replace anything
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true });
      throw err;
    }
    renameDurable(tmp, path.join(this.root, name), faults);
    // Only now is anything removed: every generation but this one and the previous good one.
    for (const g of this.generations()) {
      if (g.name === name || g.name === this.previous) continue;
      const trash = path.join(this.root, `.trash-${g.name}-${process.pid}-${Date.now()}`);
      renameDurable(g.dir, trash, faults);
      faults?.onStep?.(`remove ${g.name}`);
      rmSync(trash, { recursive: true, force: true });
    }
    fsyncDir(this.root);
    this.previous = name;
    return path.join(this.root, name);
  }
}
