/**
 * `npx tsx bench/ppo-kernels.ts [--label before|after]`: tfjs kernels dispatched by one PPO
 * iteration (rollout + update) on CartPole with the zoo config (configs/cartpole.ppo.json: 8 envs ×
 * 32 steps, 20 epochs of one 256-row minibatch), wasm backend, by kernel name, and its wall time
 * (a loaded figure on a shared machine). Writes bench/results/<date>-ppo-kernels-<label>.json.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../controllers/backend.js';
import { createPpo } from '../controllers/ppo/ppo.js';
import { PACKAGE_ROOT } from '../src/core/package.js';
import { createEnv } from '../sim/registry.js';
import { writeBenchResult } from './results-io.js';

const argv = process.argv.slice(2);
const li = argv.indexOf('--label');
const label = li >= 0 ? argv[li + 1] : 'now';
const config = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'configs', 'cartpole.ppo.json'), 'utf8'));
const backend = await initBackend('wasm');
const learner = await createPpo({ makeEnv: (seed) => createEnv('cartpole', { seed }), seed: 0, config });
const hooks = { log() {}, episode() {} };
const iteration = config.numEnvs * config.numSteps;
await learner.learn(10 * iteration, hooks); // warm-up: JIT, wasm, some learning
const t0 = performance.now();
await learner.learn(learner.envSteps + 10 * iteration, hooks);
const msPerIteration = (performance.now() - t0) / 10;
const info = await tf.profile(() => learner.learn(learner.envSteps + iteration, hooks) as unknown as tf.TensorContainer);
const byName: Record<string, number> = {};
for (const k of info.kernels) byName[k.name] = (byName[k.name] ?? 0) + 1;
learner.dispose();
const minibatches = config.nEpochs * Math.ceil(iteration / config.batchSize);
const figures = { label, backend: backend.backend, kernelsPerIteration: info.kernels.length, minibatchesPerIteration: minibatches, msPerIteration, byName, loadAverage: os.loadavg() };
const file = writeBenchResult(path.join('bench', 'results'), `ppo-kernels-${label}`, figures);
console.log(`${info.kernels.length} kernels per iteration (${minibatches} minibatches), ${msPerIteration.toFixed(1)} ms per iteration; wrote ${file}`);
