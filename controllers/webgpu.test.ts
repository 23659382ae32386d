import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../src/core/rng.js';
import type { Episode, OfflineDataset } from '../src/data/dataset.js';
import { train } from '../src/experiment/train.js';
import { createEnv } from '../sim/registry.js';
import { initBackend } from './backend.js';
import { probeWebGpuAdapter, softwareAdapterReason } from './gpu-probe.js';
import { Mlp, initWeights, layerNorm } from './nn/index.js';
import { mlpSpec } from './policy/network.js';
import { loadPolicy } from './policy/index.js';
import type { Learner } from './learner.js';
import { LEARNERS, type LearnerOptions } from './registry.js';
import { trainDt } from './dt/train.js';

/**
 * The webgpu backend against cpu (tfjs's reference kernels): one update of every learner from a
 * fixed seed gives the same losses and weights, and a short SAC run trains, saves, loads and acts.
 * In CI this runs on Mesa's llvmpipe through dawn.node (`--backend webgpu` forces the software
 * adapter that auto-selection refuses), so everything is kept small: llvmpipe does ~0.6 GFLOP/s.
 *
 * Tolerance: float32 kernels that sum in a different order differ by a few ulp per op. Measured on
 * llvmpipe (2026-12-01): weights after the step within 3e-8 of cpu, losses within 2e-7 relative,
 * gradients within 5e-8. We allow 1e-5 (weights) and 1e-4 (losses), room for a GPU's tiled
 * sums; a wrong kernel or gradient is far outside it: Adam's first step moves every weight with a
 * non-zero gradient by ±lr (1e-3 or more here), so one flipped or missing gradient term shows.
 */
const LOSS_RTOL = 1e-4;
const WEIGHT_ATOL = 1e-5;

const tmp = mkdtempSync(path.join(tmpdir(), 'embody-webgpu-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// Mesa wants a runtime dir (test plumbing, like the CLI's bin/embody.js).
process.env.XDG_RUNTIME_DIR ??= tmp;

let adapterError: string | null = null;
beforeAll(async () => {
  try {
    await probeWebGpuAdapter();
  } catch (err) {
    adapterError = String((err as Error).message ?? err);
  }
}, 60_000);

/** Without an adapter this file fails: CI installs mesa-vulkan-drivers (bookworm-backports) for it. */
function needAdapter(): void {
  if (adapterError) throw new Error(`no WebGPU adapter (${adapterError}): install mesa-vulkan-drivers >= 23 (Debian: bookworm-backports) and the optional npm packages webgpu, @tensorflow/tfjs-backend-webgpu`);
}

function maxAbsDiff(a: ArrayLike<number>[], b: ArrayLike<number>[]): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  a.forEach((x, i) => {
    expect(x.length).toBe(b[i].length);
    for (let j = 0; j < x.length; j++) m = Math.max(m, Math.abs(x[j] - b[i][j]));
  });
  return m;
}

function expectClose(figA: Record<string, number>, figB: Record<string, number>, keys: string[]): void {
  for (const k of keys) {
    expect(Number.isFinite(figA[k]), `${k} on cpu`).toBe(true);
    const tol = LOSS_RTOL * Math.max(1, Math.abs(figA[k]));
    expect(Math.abs(figA[k] - figB[k]), `${k}: cpu ${figA[k]} vs webgpu ${figB[k]}`).toBeLessThanOrEqual(tol);
  }
}

/** One learner built by the registry on `backend`, trained to `steps`; its last log line and weights. */
async function runLearner(
  kind: string,
  backend: string,
  config: Record<string, unknown>,
  scene: string,
  steps: number,
  weightsOf: (l: Learner) => Float32Array[],
): Promise<{ figures: Record<string, number>; weights: Float32Array[] }> {
  const make = await LEARNERS[kind].load();
  const opts: LearnerOptions = { seed: 7, config: { ...config, backend }, makeEnv: (seed) => createEnv(scene, { seed }) };
  const learner = await make(opts);
  expect(tf.getBackend()).toBe(backend);
  const logs: Record<string, number>[] = [];
  await learner.learn(steps, { log: (_s, f) => logs.push(f), episode() {} });
  const weights = weightsOf(learner);
  learner.dispose();
  return { figures: logs[logs.length - 1] ?? {}, weights };
}

async function onBoth(
  kind: string,
  config: Record<string, unknown>,
  scene: string,
  steps: number,
  weightsOf: (l: Learner) => Float32Array[],
  lossKeys: string[],
): Promise<void> {
  needAdapter();
  const cpu = await runLearner(kind, 'cpu', config, scene, steps, weightsOf);
  const gpu = await runLearner(kind, 'webgpu', config, scene, steps, weightsOf);
  expectClose(cpu.figures, gpu.figures, lossKeys);
  expect(maxAbsDiff(cpu.weights, gpu.weights)).toBeLessThanOrEqual(WEIGHT_ATOL);
}

describe('webgpu backend (software adapter in CI)', () => {
  it('tells a software adapter from a hardware one', async () => {
    expect(softwareAdapterReason({ vendor: 'nvidia', architecture: 'hopper', device: '', description: 'NVIDIA H200', isFallbackAdapter: false })).toBe('');
    expect(softwareAdapterReason({ vendor: 'google', architecture: '', device: '', description: 'SwiftShader Device (Subzero)', isFallbackAdapter: false })).toMatch(/SwiftShader/);
    expect(softwareAdapterReason({ vendor: 'x', architecture: '', device: '', description: '', isFallbackAdapter: true })).toMatch(/fallback/);
    needAdapter();
    const a = await probeWebGpuAdapter();
    expect(a.limits.maxStorageBufferBindingSize).toBeGreaterThan(0);
    // Auto-selection never takes this machine's llvmpipe; `--backend webgpu` does.
    if (a.software) {
      const auto = await initBackend();
      expect(auto.selected).not.toBe('webgpu');
      expect(auto.attempts.find((x) => x.name === 'webgpu')?.error).toMatch(/software adapter, not auto-selected/);
    }
    const forced = await initBackend('webgpu');
    expect(forced.backend).toBe('webgpu');
    expect(forced.adapter?.description).toBe(a.description);
  }, 60_000);

  it('dataSync works in Node and matMul gradients agree with cpu and with wasm (transpose-free trick on)', async () => {
    needAdapter();
    const spec = mlpSpec({ inputSize: 5, hidden: [12, 12], outputSize: 3, layerNorm: true });
    const w = initWeights(spec, new Rng(3));
    const x = Float32Array.from({ length: 9 * 5 }, (_, i) => Math.sin(i * 1.7));
    const grads = async (backend: string) => {
      await initBackend(backend);
      const net = new Mlp(spec, w, `g-${backend}`);
      const input = tf.tensor2d(x, [9, 5]);
      const { value, grads: g } = tf.variableGrads(() => tf.mean(tf.square(net.apply(input))) as tf.Scalar, net.vars);
      // Gradients through the hand-written LayerNorm backward, too.
      const ln = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(layerNorm(a as tf.Tensor2D, tf.ones([5]), tf.zeros([5]), 1e-5), tf.range(0, 45).reshape([9, 5]))));
      const [lnGrad] = ln([input]);
      const out = { loss: value.dataSync()[0], grads: net.vars.map((v) => g[v.name].dataSync().slice()), ln: lnGrad.dataSync().slice() };
      tf.dispose([value, input, lnGrad, ...Object.values(g)]);
      net.dispose();
      return out;
    };
    const cpu = await grads('cpu');
    const gpu = await grads('webgpu');
    const wasm = await grads('wasm');
    for (const other of [gpu, wasm]) {
      expect(Math.abs(other.loss - cpu.loss)).toBeLessThanOrEqual(LOSS_RTOL * Math.max(1, cpu.loss));
      expect(maxAbsDiff(cpu.grads, other.grads)).toBeLessThanOrEqual(1e-5);
      expect(maxAbsDiff([cpu.ln], [other.ln])).toBeLessThanOrEqual(1e-4);
    }
    // A real signal, not zeros on every backend.
    expect(Math.max(...cpu.grads.map((g) => Math.max(...g.map(Math.abs))))).toBeGreaterThan(1e-3);
  }, 180_000);

  const sacConfig = { hidden: [16, 16], batchSize: 16, learningStarts: 64, bufferSize: 128, logEvery: 66 };
  const sacWeights = (l: Learner) => (l as unknown as { weights(): Float32Array[] }).weights();

  it('SAC: two updates on webgpu equal two on cpu (losses, actor and critic weights)', async () => {
    await onBoth('sac', sacConfig, 'pendulum', 66, sacWeights, ['criticLoss', 'qMean', 'actorLoss', 'entropy', 'alpha']);
  }, 300_000);

  it('STAC (LayerNorm with its hand-written backward, dropout): two updates on webgpu equal two on cpu', async () => {
    await onBoth('stac', sacConfig, 'pendulum', 66, sacWeights, ['criticLoss', 'qMean', 'sigmaMean', 'actorLoss', 'entropy']);
  }, 300_000);

  it('PPO: one gradient step on webgpu equals one on cpu (losses, actor, critic, log σ)', async () => {
    const weightsOf = (l: Learner) => {
      const p = l as unknown as { actor: Mlp; critic: Mlp; logStd: tf.Variable | null };
      return [...p.actor.getWeights(), ...p.critic.getWeights(), ...(p.logStd ? [p.logStd.dataSync() as Float32Array] : [])];
    };
    await onBoth('ppo', { numEnvs: 1, numSteps: 64, batchSize: 64, nEpochs: 1, hidden: [16, 16] }, 'pendulum', 64, weightsOf, ['policyLoss', 'valueLoss', 'entropy', 'approxKl']);
  }, 300_000);

  it('DQN: two gradient steps on webgpu equal two on cpu (loss, mean Q, online weights)', async () => {
    const weightsOf = (l: Learner) => (l as unknown as { qnet: { online: Mlp } }).qnet.online.getWeights();
    // ε = 1 throughout: acting is random, so both replay buffers hold the same transitions.
    const cfg = { numEnvs: 1, hidden: [16, 16], batchSize: 16, bufferSize: 1000, learningStarts: 500, trainFreq: 1000, gradientSteps: 2, explorationInitialEps: 1, explorationFinalEps: 1, targetUpdateInterval: 1 };
    await onBoth('dqn', cfg, 'cartpole', 1000, weightsOf, ['loss', 'meanQ']);
  }, 300_000);

  it('DT (and its CRDT critic): two updates on webgpu equal two on cpu (losses, weights)', async () => {
    needAdapter();
    const S = 3;
    const A = 2;
    const rng = new Rng(11);
    const episodes: Episode[] = Array.from({ length: 4 }, (_, e) => {
      const T = 12;
      const obs = Float32Array.from({ length: (T + 1) * S }, () => rng.normal());
      const act = Float32Array.from({ length: T * A }, (_, i) => Math.tanh(obs[i]));
      return { id: e, seed: e, source: 's', observations: obs, actions: act, rewards: Float64Array.from({ length: T }, () => e / 4), terminations: new Uint8Array(T), truncations: Uint8Array.from({ length: T }, (_, i) => (i === T - 1 ? 1 : 0)), endReason: 'time-limit', metrics: {} };
    });
    const ds: OfflineDataset = { meta: { datasetId: 'x', taskId: 't', scene: 's', obsDim: S, actDim: A, observationSpace: null, actionSpace: null, controlPeriod: 1, maxEpisodeSteps: 12 }, episodes };
    const cfg = { K: 4, embed: 16, layers: 1, heads: 1, batch: 8, updates: 2, warmupSteps: 1, maxTimestep: 16, eta: 1, nStep: 2, criticHidden: 16 };
    const run = async (backend: string) => {
      await initBackend(backend);
      expect(tf.getBackend()).toBe(backend);
      const logs: Record<string, number>[] = [];
      const m = await trainDt(ds, cfg, { seed: 5, onLog: (_u, f) => logs.push(f), logEvery: 1 });
      return { logs, weights: Object.keys(m.rawWeights).sort().map((k) => m.rawWeights[k]) };
    };
    const cpu = await run('cpu');
    const gpu = await run('webgpu');
    expect(gpu.logs.length).toBe(cpu.logs.length);
    cpu.logs.forEach((f, i) => expectClose(f, gpu.logs[i], ['loss', 'criticLoss']));
    expect(maxAbsDiff(cpu.weights, gpu.weights)).toBeLessThanOrEqual(WEIGHT_ATOL);
  }, 300_000);

  it('a short SAC run trains on webgpu end to end, saves, loads and acts', async () => {
    needAdapter();
    const overrides = { hidden: [16, 16], batchSize: 16, learningStarts: 100, bufferSize: 300, logEvery: 50, evalEpisodes: 1, evalEvery: 150, backend: 'webgpu' };
    const res = await train({ scene: 'pendulum', controller: 'sac', steps: 150, seed: 2, out: path.join(tmp, 'runs'), overrides, quiet: true });
    expect(res.backend).toBe('webgpu');
    expect(res.envSteps).toBe(150);
    const env0 = await createEnv('pendulum', { seed: 9 });
    const { controller: policy, manifest } = await loadPolicy(path.join(res.runDir, 'policy'), { spec: env0.spec });
    expect(manifest.kind).toBe('sac');
    const env = await createEnv('pendulum', { seed: 9 });
    let obs = env.reset({ seed: 9 }).obs;
    for (let t = 0; t < 5; t++) {
      const a = policy.act(obs) as Float32Array;
      expect(a.length).toBe(1);
      expect(Math.abs(a[0])).toBeLessThanOrEqual(2 + 1e-6);
      obs = env.step(a).obs;
    }
    env.close();
    // The run resumes from its checkpoint on webgpu too (loads the learner state).
    const resumed = await train({ scene: 'pendulum', controller: 'sac', resume: res.runDir, steps: 170, quiet: true });
    expect(resumed.envSteps).toBe(170);
  }, 600_000);
});
