/**
 * `npx tsx bench/profile-update.ts [--label L]`: where a SAC update's time goes (2×256, batch 256,
 * obs 17, act 6, wasm): kernels dispatched, tensors created, time inside kernels vs outside them
 * (dispatch, autodiff bookkeeping, Adam and Polyak in JS), CPU ms per update; and the same for one
 * act through tfjs (the pre-JS-forward path) against the pure-JS forward, next to one uav-small
 * env step. Writes bench/results/<date>-profile-<label>.json. Used for controllers/nn/README.md.
 */
import { execSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../controllers/backend.js';
import { parseSacConfig, SacLearner } from '../controllers/sac/sac.js';
import { NetworkRunner } from '../controllers/policy/index.js';
import { writeJsonAtomic } from '../src/core/atomic.js';
import { createEnv } from '../sim/registry.js';
import { SyntheticEnv } from './learners.js';

const argv = process.argv.slice(2);
const li = argv.indexOf('--label');
const label = li >= 0 ? argv[li + 1] : 'now';
// --commit: the commit a tree without git metadata was exported from (a before/after pair run side by side).
const ci = argv.indexOf('--commit');
const backend = await initBackend('wasm');

async function profileOf(f: () => void, reps: number) {
  let kernels = 0;
  let tensors = 0;
  let kernelMs = 0;
  let wallMs = 0;
  const byName: Record<string, number> = {};
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    const info = await tf.profile(f);
    wallMs += performance.now() - t0;
    kernels += info.kernels.length;
    for (const k of info.kernels) {
      byName[k.name] = (byName[k.name] ?? 0) + 1 / reps;
      tensors += k.outputShapes.length;
      kernelMs += Number(k.kernelTimeMs) || 0;
    }
  }
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let r = 0; r < reps * 20; r++) f();
  const c = process.cpuUsage(c0);
  return {
    kernels: kernels / reps,
    tensorsCreated: tensors / reps,
    profiledMs: wallMs / reps,
    kernelMs: kernelMs / reps,
    outsideKernelsMs: (wallMs - kernelMs) / reps,
    kernelShare: kernelMs / wallMs,
    wallMsUnprofiled: (performance.now() - t0) / (reps * 20),
    cpuMsUnprofiled: (c.user + c.system) / 1000 / (reps * 20),
    kernelsByName: Object.fromEntries(Object.entries(byName).sort((a, b) => b[1] - a[1])),
  };
}

const config = parseSacConfig({ learningStarts: 512, batchSize: 256, hidden: [256, 256], policyFrequency: 1, bufferSize: 10_000, logEvery: 1_000_000 }, 'sac');
const learner = new SacLearner(new SyntheticEnv(), 1, config, 'sac');
await learner.learn(512, { log() {}, episode() {} });
for (let i = 0; i < 5; i++) learner.update();
const update = await profileOf(() => learner.update(), 10);

// One act: the tfjs path (tensor in, actor forward, head, dataSync) and the pure-JS forward.
type ActorLike = { apply: (x: tf.Tensor2D, r: null, o: { noGrad: boolean }) => tf.Tensor2D; spec: never; getWeights(): Float32Array[] };
const inner = learner as unknown as { nets?: { actor: ActorLike }; actor?: ActorLike };
const actor = (inner.nets?.actor ?? inner.actor)!;
const obs = Float32Array.from({ length: 17 }, (_, i) => Math.sin(i));
const eps = tf.tensor2d(new Float32Array(6).fill(0.1), [1, 6]);
const tfAct = () => {
  tf.tidy(() => {
    const out = actor.apply(tf.tensor2d(obs, [1, 17]), null, { noGrad: true });
    const [mean, raw] = tf.split(out, [6, 6], 1);
    const logStd = tf.add(-5, tf.mul(3.5, tf.add(tf.tanh(raw), 1)));
    return tf.tanh(tf.add(mean, tf.mul(tf.exp(logStd), eps))).dataSync();
  });
};
const actTf = await profileOf(tfAct, 200);
const runner = new NetworkRunner(actor.spec, actor.getWeights());
const js = (() => {
  for (let i = 0; i < 500; i++) runner.forward(obs);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < 5000; i++) runner.forward(obs);
  const c = process.cpuUsage(c0);
  return { wallMsPerAct: (performance.now() - t0) / 5000, cpuMsPerAct: (c.user + c.system) / 1000 / 5000, kernels: 0, tensorsCreated: 0 };
})();
const env = await createEnv('uav-small', { seed: 0 });
env.reset({ seed: 0 });
const a = new Float32Array([0.2, 0.1, 0]);
for (let i = 0; i < 100; i++) if (env.step(a).truncated) env.reset();
const ce = process.cpuUsage();
const te = performance.now();
for (let i = 0; i < 1000; i++) {
  const r = env.step(a);
  if (r.terminated || r.truncated) env.reset();
}
const cpuE = process.cpuUsage(ce);
const envStep = { wallMs: (performance.now() - te) / 1000, cpuMs: (cpuE.user + cpuE.system) / 1000 / 1000 };
env.close();
learner.dispose();

const commit = (() => {
  if (ci >= 0) return argv[ci + 1];
  try {
    return execSync('git rev-parse --short HEAD', { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
})();
const result = { suite: 'profile', label, commit, date: new Date().toISOString(), loadAverage: os.loadavg(), backend: { backend: backend.backend, notes: backend.notes }, sacUpdate: update, actTfjs: actTf, actJs: js, uavSmallEnvStep: envStep };
console.log(JSON.stringify(result, null, 2));
const dir = path.join('bench', 'results');
mkdirSync(dir, { recursive: true });
const file = path.join(dir, `${new Date().toISOString().slice(0, 10)}-profile-${label}.json`);
writeJsonAtomic(file, result);
console.log(`wrote ${file}`);
