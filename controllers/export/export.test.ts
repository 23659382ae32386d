import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Box, Discrete } from '../../src/core/spaces.js';
import { Rng } from '../../src/core/rng.js';
import { loadPolicy, mlpSpec, RunningNormalizer, savePolicy, weightShapes, type NetworkSpec, type PolicyHead } from '../policy/index.js';
import { saveDt } from '../dt/artifact.js';
import { dtConfig } from '../dt/config.js';
import { DtRuntime } from '../dt/infer.js';
import { dtParamSpecs, initDtWeights, mergeLora } from '../dt/weights.js';
import { exportPolicy } from './index.js';

/**
 * The exported graphs run in onnxruntime (onnxruntime-web's wasm build, in Node) and give the
 * pure-JS forward's actions, to 1e-5, on 1000 random observations per policy kind.
 */
const N = 1000;
const TOL = 1e-5;
const tmp = mkdtempSync(path.join(tmpdir(), 'embody-onnx-'));
beforeAll(() => {
  ort.env.wasm.numThreads = 1;
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const randomWeights = (spec: NetworkSpec, rng: Rng) =>
  weightShapes(spec).map((s) => {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const fanIn = s.shape[0];
    // LayerNorm gamma near 1, everything else ~ U(±1/√fan-in): a network whose outputs vary.
    return Float32Array.from({ length: n }, () => (s.name.includes('gamma') ? 1 + 0.1 * rng.normal() : rng.uniform(-1, 1) / Math.sqrt(s.shape.length > 1 ? fanIn : 4)));
  });

const session = async (file: string) => ort.InferenceSession.create(new Uint8Array(readFileSync(file)));

interface Kind {
  kind: string;
  head: PolicyHead;
  obsDim: number;
  actionSpace: Box | Discrete;
  spec: (obsDim: number, out: number) => NetworkSpec;
  normalized: boolean;
}
const KINDS: Kind[] = [
  // SAC: tanh-squashed mean, actions scaled to a [−2, 2] Box (Pendulum's torque), normalised observations.
  { kind: 'sac', head: 'tanh-gaussian-mean', obsDim: 3, actionSpace: new Box(-2, 2, [1]), spec: (i, o) => mlpSpec({ inputSize: i, hidden: [64, 64], outputSize: 2 * o }), normalized: true },
  // STAC: dropout and LayerNorm in the hidden layers.
  { kind: 'stac', head: 'tanh-gaussian-mean', obsDim: 11, actionSpace: new Box([-1, 0, -3], [1, 5, 3], [3]), spec: (i, o) => mlpSpec({ inputSize: i, hidden: [48, 48], outputSize: 2 * o, dropout: 0.01, layerNorm: true }), normalized: true },
  // PPO, Box: clipped Gaussian mean, tanh hidden layers.
  { kind: 'ppo', head: 'gaussian-mean', obsDim: 8, actionSpace: new Box(-1, 1, [2]), spec: (i, o) => mlpSpec({ inputSize: i, hidden: [32, 32], outputSize: o, activation: 'tanh' }), normalized: true },
  // PPO, Discrete: argmax of the logits.
  { kind: 'ppo-discrete', head: 'categorical-argmax', obsDim: 4, actionSpace: new Discrete(2), spec: (i, o) => mlpSpec({ inputSize: i, hidden: [32, 32], outputSize: o, activation: 'tanh' }), normalized: false },
  // DQN: argmax of Q.
  { kind: 'dqn', head: 'q-argmax', obsDim: 4, actionSpace: new Discrete(3), spec: (i, o) => mlpSpec({ inputSize: i, hidden: [64, 64], outputSize: o }), normalized: true },
];

describe('ONNX export of MLP policies, run by onnxruntime', () => {
  it.each(KINDS.map((k) => [k.kind, k] as const))('%s: same actions as the pure-JS forward on 1000 random observations', async (_, k) => {
    const rng = new Rng(k.kind.length * 17);
    const A = k.actionSpace instanceof Discrete ? k.actionSpace.n : k.actionSpace.size;
    const spec = k.spec(k.obsDim, A);
    let normalizer: RunningNormalizer | null = null;
    if (k.normalized) {
      normalizer = new RunningNormalizer(k.obsDim, 5);
      for (let i = 0; i < 200; i++) normalizer.update(Array.from({ length: k.obsDim }, (_, j) => 3 * j + (j + 1) * rng.normal()));
    }
    const dir = path.join(tmp, k.kind);
    await savePolicy(dir, {
      kind: k.kind.replace('-discrete', ''),
      taskId: 'test-task',
      observationSpace: new Box(-Infinity, Infinity, [k.obsDim]),
      actionSpace: k.actionSpace,
      network: { spec, weights: randomWeights(spec, rng) },
      head: k.head,
      normalizer,
    });
    const { file, recorded } = await exportPolicy(dir, { format: 'onnx' });
    expect(file).toBe(path.join(dir, 'policy.onnx'));
    expect(recorded).toBe(true);
    // The manifest lists the export with its sha256 and says what it is.
    const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    expect(manifest.files['policy.onnx']).toBe(createHash('sha256').update(readFileSync(file)).digest('hex'));
    expect(manifest.exports['policy.onnx']).toMatchObject({ format: 'onnx', opset: 17, inputs: ['obs'], outputs: ['action'] });
    // The directory still loads (the export is a listed file), against the task's own spaces.
    const { controller } = await loadPolicy(dir, { spec: { id: 'test-task', observationSpace: new Box(-Infinity, Infinity, [k.obsDim]), actionSpace: k.actionSpace } });
    const s = await session(file);
    expect(s.inputNames).toEqual(['obs']);
    expect(s.outputNames).toEqual(['action']);
    // Observations spread well past the normaliser's clip, so clipping is exercised too.
    const obs = Float32Array.from({ length: N * k.obsDim }, (_, i) => 3 * (i % k.obsDim) + 8 * rng.normal());
    const out = (await s.run({ obs: new ort.Tensor('float32', obs, [N, k.obsDim]) })).action;
    let worst = 0;
    const distinct = new Set<string>();
    for (let n = 0; n < N; n++) {
      const expected = controller.act(obs.subarray(n * k.obsDim, (n + 1) * k.obsDim));
      if (typeof expected === 'number') {
        expect(Number(out.data[n])).toBe(expected);
        distinct.add(String(expected));
      } else {
        for (let i = 0; i < A; i++) worst = Math.max(worst, Math.abs(Number(out.data[n * A + i]) - expected[i]));
        distinct.add(expected[0].toFixed(2));
      }
    }
    expect(worst).toBeLessThanOrEqual(TOL);
    // Not a constant policy: the comparison means something.
    expect(distinct.size).toBeGreaterThan(1);
  }, 120_000);
});

describe('ONNX export of the decision transformer at a fixed context', () => {
  it('same actions as the pure-JS DT on 1000 random contexts (1..K steps, left-padded), LoRA merged', async () => {
    const rng = new Rng(5);
    const config = dtConfig({ K: 4, embed: 32, layers: 2, heads: 2, maxTimestep: 50, loraRank: 2 });
    const obsDim = 5;
    const actDim = 2;
    const raw = initDtWeights(dtParamSpecs(config, obsDim, actDim), rng);
    // Non-zero LoRA B, so merging matters.
    for (const k of Object.keys(raw)) if (k.endsWith('_loraB')) raw[k] = raw[k].map(() => 0.05 * rng.normal());
    const model = { config, obsDim, actDim, weights: mergeLora(raw, config), obsMean: Float32Array.from([1, -1, 0, 2, 0.5]), obsStd: Float32Array.from([2, 1, 0.5, 3, 1]), rtgScale: 50 };
    const dir = path.join(tmp, 'dt');
    await saveDt(dir, { ...model, rawWeights: raw, targetReturn: 40, stats: { updates: 0, seconds: 0, finalLoss: 0, trainableParams: 0, totalParams: 0, trainableShare: 0 } });
    const { file } = await exportPolicy(dir);
    const s = await session(file);
    expect([...s.inputNames].sort()).toEqual(['actions', 'mask', 'returns_to_go', 'states', 'timesteps']);
    const K = config.K;
    const rtg = new Float32Array(N * K);
    const states = new Float32Array(N * K * obsDim);
    const actions = new Float32Array(N * K * actDim);
    const timesteps = new BigInt64Array(N * K);
    const mask = new Float32Array(N * K);
    const lengths: number[] = [];
    for (let n = 0; n < N; n++) {
      const len = 1 + (n % K);
      lengths.push(len);
      const t0 = Math.floor(rng.uniform(0, 60)); // beyond maxTimestep too: clipped as the JS runtime does
      for (let j = K - len; j < K; j++) {
        const i = n * K + j;
        mask[i] = 1;
        rtg[i] = rng.uniform(-20, 60);
        timesteps[i] = BigInt(t0 + j);
        for (let d = 0; d < obsDim; d++) states[i * obsDim + d] = 3 * rng.normal();
        for (let d = 0; d < actDim; d++) actions[i * actDim + d] = rng.uniform(-1, 1);
      }
      // Padding holds junk, which the mask must hide.
      for (let j = 0; j < K - len; j++) {
        rtg[n * K + j] = 999;
        for (let d = 0; d < obsDim; d++) states[(n * K + j) * obsDim + d] = 99;
      }
    }
    const out = (
      await s.run({
        returns_to_go: new ort.Tensor('float32', rtg, [N, K]),
        states: new ort.Tensor('float32', states, [N, K, obsDim]),
        actions: new ort.Tensor('float32', actions, [N, K, actDim]),
        timesteps: new ort.Tensor('int64', timesteps, [N, K]),
        mask: new ort.Tensor('float32', mask, [N, K]),
      })
    ).action.data as Float32Array;
    const rt = new DtRuntime(model);
    let worst = 0;
    for (let n = 0; n < N; n++) {
      rt.reset();
      let a: Float32Array = new Float32Array(0);
      for (let j = K - lengths[n]; j < K; j++) {
        const i = n * K + j;
        const t = Number(timesteps[i]);
        rt.pushReturn(rtg[i] / model.rtgScale, t);
        a = rt.pushState(states.subarray(i * obsDim, (i + 1) * obsDim), t);
        if (j < K - 1) rt.pushAction(actions.subarray(i * actDim, (i + 1) * actDim), t);
      }
      for (let d = 0; d < actDim; d++) worst = Math.max(worst, Math.abs(out[n * actDim + d] - a[d]));
    }
    expect(worst).toBeLessThanOrEqual(TOL);
  }, 120_000);

  it('the DT export is recorded in its manifest too, with its five inputs', () => {
    const manifest = JSON.parse(readFileSync(path.join(tmp, 'dt', 'manifest.json'), 'utf8'));
    expect(manifest.exports['policy.onnx']).toMatchObject({ format: 'onnx', inputs: ['returns_to_go', 'states', 'actions', 'timesteps', 'mask'], outputs: ['action'] });
  });

  it('refuses a directory that is not a policy, and an unknown format', async () => {
    await expect(exportPolicy(tmp)).rejects.toThrow(/not a policy directory/);
    await expect(exportPolicy(tmp, { format: 'tflite' as 'onnx' })).rejects.toThrow(/unknown format "tflite"/);
  });
});

describe('the export inside the policy directory', () => {
  const spaces = { observationSpace: new Box(-Infinity, Infinity, [3]), actionSpace: new Box(-2, 2, [1]) };
  const target = { id: 'test-task', ...spaces };
  const save = async (dir: string) => {
    const spec = mlpSpec({ inputSize: 3, hidden: [8], outputSize: 2 });
    await savePolicy(dir, { kind: 'sac', taskId: 'test-task', ...spaces, network: { spec, weights: randomWeights(spec, new Rng(1)) }, head: 'tanh-gaussian-mean' });
  };
  const manifestOf = (dir: string) => JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));

  it('exporting again replaces it (one entry, the new hash), and nothing else in the directory moves', async () => {
    const dir = path.join(tmp, 'again');
    await save(dir);
    const before = manifestOf(dir);
    await exportPolicy(dir);
    const once = manifestOf(dir);
    await exportPolicy(dir);
    const twice = manifestOf(dir);
    expect(readdirSync(dir).sort()).toEqual(['manifest.json', 'model.json', 'policy.onnx', 'weights.bin']);
    expect(Object.keys(twice.files).sort()).toEqual(['model.json', 'policy.onnx', 'weights.bin']);
    expect(twice.files['model.json']).toBe(before.files['model.json']);
    expect(twice.files['weights.bin']).toBe(before.files['weights.bin']);
    expect(twice.files['policy.onnx']).toBe(once.files['policy.onnx']); // the same graph, byte for byte
    // No temp or old directory left beside it.
    expect(readdirSync(tmp).filter((f) => f.includes('again'))).toEqual(['again']);
  });

  it('a changed policy.onnx fails the load like any listed file', async () => {
    const dir = path.join(tmp, 'tampered');
    await save(dir);
    await exportPolicy(dir);
    await expect(loadPolicy(dir, { spec: target })).resolves.toBeTruthy();
    const bytes = readFileSync(path.join(dir, 'policy.onnx'));
    bytes[bytes.length - 1] ^= 1;
    writeFileSync(path.join(dir, 'policy.onnx'), bytes);
    await expect(loadPolicy(dir, { spec: target })).rejects.toThrow(/policy\.onnx: sha256 mismatch/);
    // And exporting over a tampered directory is refused (it would bless the tampering): the weights are checked first.
    writeFileSync(path.join(dir, 'weights.bin'), Buffer.alloc(4));
    await expect(exportPolicy(dir)).rejects.toThrow(/sha256 mismatch|holds 1 floats/);
  });

  it('--out elsewhere writes a plain file and leaves the directory untouched; --out inside records it under its name', async () => {
    const dir = path.join(tmp, 'out');
    await save(dir);
    const manifestBytes = readFileSync(path.join(dir, 'manifest.json'));
    const elsewhere = path.join(tmp, 'elsewhere', 'robot.onnx');
    const res = await exportPolicy(dir, { out: elsewhere });
    expect(res).toMatchObject({ file: elsewhere, recorded: false });
    expect(existsSync(elsewhere)).toBe(true);
    expect(readFileSync(path.join(dir, 'manifest.json')).equals(manifestBytes)).toBe(true);
    expect(existsSync(path.join(dir, 'policy.onnx'))).toBe(false);
    const inside = await exportPolicy(dir, { out: path.join(dir, 'ros2.onnx') });
    expect(inside.recorded).toBe(true);
    expect(Object.keys(manifestOf(dir).exports)).toEqual(['ros2.onnx']);
    await expect(loadPolicy(dir, { spec: target })).resolves.toBeTruthy();
    // Not over one of the policy's own files.
    await expect(exportPolicy(dir, { out: path.join(dir, 'weights.bin') })).rejects.toThrow(/one of the policy's own files/);
  });

  it('saving the policy again drops the export (it described the old weights); a copy keeps it and still loads', async () => {
    const dir = path.join(tmp, 'resave');
    await save(dir);
    await exportPolicy(dir);
    const copy = path.join(tmp, 'resave-copy');
    cpSync(dir, copy, { recursive: true });
    await expect(loadPolicy(copy, { spec: target })).resolves.toBeTruthy();
    await save(dir);
    expect(existsSync(path.join(dir, 'policy.onnx'))).toBe(false);
    expect(manifestOf(dir).exports).toBeUndefined();
  });

  it('a manifest naming an export it does not list is refused by the schema', async () => {
    const dir = path.join(tmp, 'unlisted');
    await save(dir);
    const m = manifestOf(dir);
    m.exports = { 'policy.onnx': { format: 'onnx', opset: 17, inputs: ['obs'], outputs: ['action'], packageVersion: '0', createdAt: '' } };
    writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(m));
    await expect(loadPolicy(dir, { spec: target })).rejects.toThrow(/export policy\.onnx is not listed in files/);
  });
});

describe('the Python example', () => {
  it('hardware/README.md shows examples/onnx_policy.py verbatim (bench/check-onnx-python.ts runs the file)', () => {
    const readme = readFileSync(new URL('../../hardware/README.md', import.meta.url), 'utf8');
    const example = readFileSync(new URL('../../examples/onnx_policy.py', import.meta.url), 'utf8');
    expect(readme).toContain('```python\n' + example + '```');
    expect(example.trimEnd().split('\n').length).toBeLessThanOrEqual(20);
  });
});
