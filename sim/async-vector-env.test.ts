import { afterEach, describe, expect, it } from 'vitest';
import { AsyncVectorEnv } from '../src/core/async-vector-env.js';
import type { Action } from '../src/core/env.js';
import { Rng } from '../src/core/rng.js';
import { SyncVectorEnv, type VectorEnv } from '../src/core/vector-env.js';
import { createEnv } from './registry.js';

const registry = new URL('./registry.ts', import.meta.url);
const open: VectorEnv[] = [];
afterEach(() => {
  while (open.length) open.pop()!.close();
});

async function both(scene: string, n: number, workers: number) {
  const args = Array.from({ length: n }, (_, i) => [scene, { seed: 100 + i }]);
  const sync = new SyncVectorEnv(await Promise.all(args.map(([s, o]) => createEnv(s as string, o as { seed: number }))));
  const async_ = await AsyncVectorEnv.create({ module: registry, exportName: 'createEnv', args }, { workers });
  open.push(sync, async_);
  return { sync, async_ };
}

function randomActions(venv: VectorEnv, rng: Rng): Action[] {
  const space = venv.spec.actionSpace;
  return Array.from({ length: venv.numEnvs }, () =>
    space.kind === 'discrete' ? Math.floor(rng.next() * space.n) : Float32Array.from({ length: space.size }, () => rng.uniform(-2, 2)),
  );
}

describe('AsyncVectorEnv (worker threads)', () => {
  it.each([
    ['cartpole', 5, 3],
    ['pendulum', 3, 2],
    ['uav-small', 2, 2],
  ])('%s: same seeds give the same trajectories as SyncVectorEnv, autoreset and finalObs included (%i envs, %i workers)', async (scene, n, workers) => {
    const { sync, async_ } = await both(scene, n, workers);
    expect(async_.numWorkers).toBe(workers);
    expect(async_.spec.id).toBe(sync.spec.id);
    const r0 = sync.reset({ seed: 7 });
    const a0 = async_.reset({ seed: 7 });
    expect(a0.obs).toEqual(r0.obs);
    const rng = new Rng(3);
    let ended = 0;
    for (let t = 0; t < 250; t++) {
      const actions = randomActions(sync, rng);
      const s = sync.step(actions);
      const a = t % 2 ? async_.step(actions) : (async_.stepAsync(actions), async_.stepWait());
      expect(a.obs).toEqual(s.obs);
      expect(a.rewards).toEqual(s.rewards);
      expect(a.terminated).toEqual(s.terminated);
      expect(a.truncated).toEqual(s.truncated);
      expect(a.infos).toEqual(s.infos);
      ended += s.terminated.reduce((x, y) => x + y, 0) + s.truncated.reduce((x, y) => x + y, 0);
    }
    if (scene !== 'uav-small') expect(ended).toBeGreaterThan(0); // autoreset was exercised (UAV episodes are longer than the test)
  }, 60_000);

  it('names the module and export when the factory is missing, and refuses use after close', async () => {
    await expect(AsyncVectorEnv.create({ module: registry, exportName: 'noSuchFactory', args: [[]] })).rejects.toThrow(/noSuchFactory/);
    const venv = await AsyncVectorEnv.create({ module: registry, exportName: 'createEnv', args: [['cartpole', { seed: 1 }]] }, { workers: 1 });
    venv.reset({ seed: 1 });
    expect(() => venv.step([0, 1])).toThrow(/expected 1 actions, got 2/);
    venv.close();
    expect(() => venv.reset()).toThrow(/closed/);
  }, 60_000);

  it('checks action sizes in the main thread, before they reach the shared buffer', async () => {
    const venv = await AsyncVectorEnv.create({ module: registry, exportName: 'createEnv', args: [['pendulum', { seed: 1 }]] }, { workers: 1 });
    open.push(venv);
    venv.reset({ seed: 1 });
    expect(() => venv.step([new Float32Array([0, 0])])).toThrow(/action 0 has 2 values/);
  }, 60_000);
});
