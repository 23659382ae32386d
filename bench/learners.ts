/**
 * `embody bench learners`: learner speed on this machine.
 * - SAC and STAC gradient updates/s, 2×256 MLPs, batch 256, obs 17, act 6 (the issue's figures);
 * - the same SAC update written the obvious way (tf.layers + optimizer.minimize), for the ratio;
 * - policy inference latency p50/p99 for one observation (the artifact's pure-JS controller);
 * - PPO env steps/s on CartPole with 8 envs, when controllers/ppo is registered.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Env, StepResult } from '../src/core/env.js';
import { Rng } from '../src/core/rng.js';
import { Box } from '../src/core/spaces.js';
import { writeJsonAtomic } from '../src/core/atomic.js';
import { initBackend } from '../controllers/backend.js';
import { parseSacConfig, SacLearner } from '../controllers/sac/sac.js';
import { LEARNERS, createLearner } from '../controllers/registry.js';
import { useStockMatMulGrad, useTransposeFreeMatMulGrad } from '../controllers/nn/fast-grad.js';
import { blasInUse, useBlasMatMul, useWasmMatMul } from '../controllers/nn/blas.js';

const OBS = 17;
const ACT = 6;

/** A synthetic Box env with the bench's sizes (HalfCheetah-like shapes): only the shapes matter here. */
export class SyntheticEnv implements Env {
  readonly spec = {
    id: 'Synthetic-v0',
    scene: 'synthetic',
    observationSpace: new Box(-Infinity, Infinity, [OBS]),
    actionSpace: new Box(-1, 1, [ACT]),
    controlPeriod: 0.05,
    maxEpisodeSteps: 1000,
  };
  private rng = new Rng(0);
  private t = 0;
  reset(o: { seed?: number } = {}) {
    if (o.seed !== undefined) this.rng = new Rng(o.seed);
    this.t = 0;
    return { obs: Float32Array.from({ length: OBS }, () => this.rng.normal()), info: {} };
  }
  step(): StepResult {
    this.t++;
    const truncated = this.t >= 1000;
    return { obs: Float32Array.from({ length: OBS }, () => this.rng.normal()), reward: this.rng.normal(), terminated: false, truncated, info: truncated ? { episode: { return: 0, length: this.t, metrics: {} } } : {} };
  }
  close() {}
}

const noHooks = { log() {}, episode() {} };

/** Wall and CPU time of `n` calls of f. CPU time (user + system of this process) is what a shared machine cannot inflate much. */
function timeIt(n: number, f: () => void): { msPerCall: number; cpuMsPerCall: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) f();
  const c = process.cpuUsage(c0);
  return { msPerCall: (performance.now() - t0) / n, cpuMsPerCall: (c.user + c.system) / 1000 / n };
}

interface Speed {
  updatesPerSec: number;
  msPerUpdate: number;
  /** Updates per second of this process's CPU time: what an idle core would give. */
  updatesPerCpuSec: number;
  cpuMsPerUpdate: number;
}

/** A SAC/STAC learner with a filled buffer, measured in rounds (so that the peer can run between them). */
async function sacBench(kind: 'sac' | 'stac') {
  const config = parseSacConfig({ learningStarts: 512, batchSize: 256, hidden: [256, 256], policyFrequency: 1, bufferSize: 10_000, logEvery: 1_000_000 }, kind);
  const learner = new SacLearner(new SyntheticEnv(), 1, config, kind);
  await learner.learn(512, noHooks); // fill the buffer with random-action transitions
  for (let i = 0; i < 5; i++) learner.update(); // warm up (XNNPACK operator caches)
  return {
    measure(updates: number): Speed & { tensorsBefore: number; tensorsAfter: number; kernelsPerUpdate?: number } {
      const tensorsBefore = tf.memory().numTensors;
      const t = timeIt(updates, () => learner.update());
      const tensorsAfter = tf.memory().numTensors;
      return { updatesPerSec: 1000 / t.msPerCall, msPerUpdate: t.msPerCall, updatesPerCpuSec: 1000 / t.cpuMsPerCall, cpuMsPerUpdate: t.cpuMsPerCall, tensorsBefore, tensorsAfter };
    },
    /** Kernels dispatched and tensors created by one update (tf.profile). */
    async profile(): Promise<{ kernels: number; tensorsCreated: number }> {
      const info = await tf.profile(() => learner.update());
      let created = 0;
      for (const k of info.kernels) created += k.outputShapes.length;
      return { kernels: info.kernels.length, tensorsCreated: created };
    },
    dispose: () => learner.dispose(),
  };
}

async function sacUpdatesPerSec(kind: 'sac' | 'stac', updates: number) {
  const b = await sacBench(kind);
  const speed = b.measure(updates);
  const profile = await b.profile();
  b.dispose();
  return { ...speed, ...profile };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export interface PeerOptions {
  /** The peer script; default ../shared/peers/sac_update_torch.py beside the repository. */
  script?: string;
  /** A Python with torch (Debian's python3-torch). */
  python?: string;
}

export type PeerRound = { updatesPerSec: number; msPerUpdate: number; updatesPerCpuSec: number; cpuMsPerUpdate: number; line: string };

/**
 * Runs the peer script unchanged, with time.perf_counter noting the process's CPU time beside each
 * reading: the script times its loop between its last two calls, so CPU/wall over that span
 * turns its ms per update into CPU ms per update (a shared machine inflates wall time, not CPU).
 */
const PEER_CPU_WRAPPER = [
  'import runpy, sys, time',
  'real = time.perf_counter',
  'marks = []',
  'def perf_counter():',
  '    marks.append((real(), time.process_time()))',
  '    return marks[-1][0]',
  'time.perf_counter = perf_counter',
  'sys.argv = sys.argv[1:]',
  "runpy.run_path(sys.argv[0], run_name='__main__')",
  '(w0, c0), (w1, c1) = marks[-2], marks[-1]',
  "print(f'peer_cpu_over_wall={(c1 - c0) / (w1 - w0):.6f}')",
].join('\n');

/**
 * One run of the PyTorch peer (1 thread). OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are removed from
 * its environment (they mis-tune OpenBLAS on this CPU), and BLAS/OpenMP are held to one thread
 * as the peer holds torch.
 */
export function runPeerOnce(script: string, python: string): PeerRound {
  const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1' };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const r = spawnSync(python, ['-c', PEER_CPU_WRAPPER, script, '1'], { env, encoding: 'utf8', timeout: 600_000 });
  if (r.error) throw new Error(`peer: could not run ${python} ${script}: ${r.error.message}`);
  const lines = (r.stdout ?? '').trim().split('\n');
  const line = lines.find((l) => /sac_updates_per_s=/.test(l)) ?? '';
  const ups = /sac_updates_per_s=([\d.]+)/.exec(line);
  const ms = /ms_per_update=([\d.]+)/.exec(line);
  const cpu = /peer_cpu_over_wall=([\d.]+)/.exec(lines.join('\n'));
  if (r.status !== 0 || !ups || !ms || !cpu) throw new Error(`peer: ${python} ${script} exited ${r.status}: ${(r.stderr || r.stdout || '').trim().split('\n').slice(-3).join(' | ')}`);
  const cpuMsPerUpdate = Number(ms[1]) * Number(cpu[1]);
  return { updatesPerSec: Number(ups[1]), msPerUpdate: 1000 / Number(ups[1]), updatesPerCpuSec: 1000 / cpuMsPerUpdate, cpuMsPerUpdate, line };
}

export function defaultPeerScript(): string {
  return path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'shared', 'peers', 'sac_update_torch.py');
}

/** Ours and the peer, alternating, `rounds` times; medians and their ratio. */
async function peerComparison(peer: PeerOptions, rounds: number, updates: number) {
  const script = peer.script ? path.resolve(peer.script) : defaultPeerScript();
  const python = peer.python ?? '/usr/bin/python3';
  if (!existsSync(script)) return { skipped: `peer script not found at ${script} (pass --peer-script <path>)` };
  const ours = await sacBench('sac');
  const peerRounds: PeerRound[] = [];
  const ourRounds: Speed[] = [];
  const loads: number[] = [];
  try {
    for (let r = 0; r < rounds; r++) {
      loads.push(os.loadavg()[0]);
      peerRounds.push(runPeerOnce(script, python));
      ourRounds.push(ours.measure(updates));
      const [p, o] = [peerRounds[r], ourRounds[r]];
      console.log(`  round ${r + 1}/${rounds}: peer ${p.updatesPerSec.toFixed(1)} updates/s (${p.cpuMsPerUpdate.toFixed(2)} CPU ms), embody ${o.updatesPerSec.toFixed(1)} updates/s (${o.cpuMsPerUpdate.toFixed(2)} CPU ms) (load ${loads[r].toFixed(1)})`);
    }
  } finally {
    ours.dispose();
  }
  const peerMedian = median(peerRounds.map((p) => p.updatesPerSec));
  const oursMedian = median(ourRounds.map((p) => p.updatesPerSec));
  const peerCpuMedian = median(peerRounds.map((p) => p.updatesPerCpuSec));
  const oursCpuMedian = median(ourRounds.map((p) => p.updatesPerCpuSec));
  return {
    script,
    python,
    torch: /torch (\S+)/.exec(peerRounds[0].line)?.[1] ?? 'unknown',
    threads: 1,
    rounds: peerRounds.map((p, i) => ({ peer: p, embody: ourRounds[i], ratio: ourRounds[i].updatesPerSec / p.updatesPerSec, cpuRatio: ourRounds[i].updatesPerCpuSec / p.updatesPerCpuSec, loadAverage1m: loads[i] })),
    peerUpdatesPerSec: peerMedian,
    embodyUpdatesPerSec: oursMedian,
    ratio: oursMedian / peerMedian,
    /** Updates per CPU-second, ours over the peer's (medians): the figure a shared machine disturbs least. */
    peerUpdatesPerCpuSec: peerCpuMedian,
    embodyUpdatesPerCpuSec: oursCpuMedian,
    cpuRatio: oursCpuMedian / peerCpuMedian,
  };
}

/** The obvious tfjs SAC update: tf.layers models, tf.train.adam, optimizer.minimize. */
async function naiveSacUpdatesPerSec(updates: number): Promise<Speed> {
  const mlp = (inp: number, out: number) =>
    tf.sequential({ layers: [tf.layers.dense({ units: 256, activation: 'relu', inputShape: [inp] }), tf.layers.dense({ units: 256, activation: 'relu' }), tf.layers.dense({ units: out })] });
  const actor = mlp(OBS, 2 * ACT);
  const q1 = mlp(OBS + ACT, 1);
  const q2 = mlp(OBS + ACT, 1);
  const q1t = mlp(OBS + ACT, 1);
  const q2t = mlp(OBS + ACT, 1);
  const qOpt = tf.train.adam(1e-3);
  const piOpt = tf.train.adam(3e-4);
  const B = 256;
  const rng = new Rng(0);
  const rand = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
  const sample = (s: tf.Tensor2D) => {
    const out = actor.apply(s) as tf.Tensor2D;
    const [mean, raw] = tf.split(out, 2, 1);
    const logStd = tf.add(-5, tf.mul(3.5, tf.add(tf.tanh(raw), 1)));
    const u = tf.add(mean, tf.mul(tf.exp(logStd), tf.randomNormal(mean.shape)));
    const a = tf.tanh(u);
    const logp = tf.sum(tf.sub(tf.sub(tf.mul(tf.square(tf.div(tf.sub(u, mean), tf.exp(logStd))), -0.5), logStd), tf.log(tf.add(tf.sub(1, tf.square(a)), 1e-6))), 1);
    return { a: a as tf.Tensor2D, logp };
  };
  const step = () =>
    tf.tidy(() => {
      const s = tf.tensor2d(rand(B * OBS), [B, OBS]);
      const a = tf.tensor2d(rand(B * ACT), [B, ACT]).tanh();
      const r = tf.tensor1d(rand(B));
      const s2 = tf.tensor2d(rand(B * OBS), [B, OBS]);
      const next = sample(s2);
      const sa2 = tf.concat([s2, next.a], 1);
      const y = tf.add(r, tf.mul(0.99, tf.sub(tf.minimum(q1t.apply(sa2) as tf.Tensor, q2t.apply(sa2) as tf.Tensor).reshape([-1]), tf.mul(0.2, next.logp))));
      qOpt.minimize(() => {
        const sa = tf.concat([s, a], 1);
        return tf.add(tf.losses.meanSquaredError(y, (q1.apply(sa) as tf.Tensor).reshape([-1])), tf.losses.meanSquaredError(y, (q2.apply(sa) as tf.Tensor).reshape([-1]))) as tf.Scalar;
      }, false, [...q1.trainableWeights, ...q2.trainableWeights].map((w) => (w as unknown as { val: tf.Variable }).val));
      piOpt.minimize(() => {
        const cur = sample(s);
        const sa = tf.concat([s, cur.a], 1);
        const q = tf.minimum(q1.apply(sa) as tf.Tensor, q2.apply(sa) as tf.Tensor).reshape([-1]);
        return tf.mean(tf.sub(tf.mul(0.2, cur.logp), q)) as tf.Scalar;
      }, false, actor.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val));
      for (const [t, src] of [[q1t, q1], [q2t, q2]] as const) {
        t.setWeights(src.getWeights().map((w, i) => tf.add(tf.mul(0.005, w), tf.mul(0.995, t.getWeights()[i]))));
      }
    });
  for (let i = 0; i < 3; i++) step();
  const t = timeIt(updates, step);
  [actor, q1, q2, q1t, q2t].forEach((m) => m.dispose());
  return { updatesPerSec: 1000 / t.msPerCall, msPerUpdate: t.msPerCall, updatesPerCpuSec: 1000 / t.cpuMsPerCall, cpuMsPerUpdate: t.cpuMsPerCall };
}

async function inferenceLatency(samples: number): Promise<{ p50us: number; p99us: number }> {
  const config = parseSacConfig({ hidden: [256, 256], bufferSize: 10 }, 'sac');
  const learner = new SacLearner(new SyntheticEnv(), 2, config, 'sac');
  const controller = learner.evalController();
  const rng = new Rng(3);
  const obs = Array.from({ length: 64 }, () => Float32Array.from({ length: OBS }, () => rng.normal()));
  for (let i = 0; i < 200; i++) controller.act(obs[i % 64]);
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    controller.act(obs[i % 64]);
    times.push((performance.now() - t0) * 1000);
  }
  times.sort((a, b) => a - b);
  learner.dispose();
  return { p50us: times[Math.floor(samples * 0.5)], p99us: times[Math.floor(samples * 0.99)] };
}

async function ppoStepsPerSec(quick: boolean): Promise<{ envStepsPerSec: number } | { skipped: string }> {
  if (!LEARNERS.ppo) return { skipped: 'ppo is not registered in controllers/registry.ts' };
  const { createEnv } = await import('../sim/registry.js');
  const steps = quick ? 4096 : 16384;
  const learner = await createLearner('ppo', { makeEnv: (seed) => createEnv('cartpole', { seed }), seed: 1, config: { numEnvs: 8 } });
  const t0 = performance.now();
  await learner.learn(steps, noHooks);
  const s = (performance.now() - t0) / 1000;
  const n = learner.envSteps;
  learner.dispose();
  return { envStepsPerSec: n / s };
}

export async function runBench(opts: { quick?: boolean; outDir?: string; peer?: PeerOptions } = {}): Promise<Record<string, unknown>> {
  const quick = !!opts.quick;
  const backend = await initBackend(process.env.EMBODY_BACKEND);
  const n = quick ? 20 : 200;
  const peer = opts.peer ? await peerComparison(opts.peer, quick ? 1 : 3, quick ? 50 : 300) : null;
  const sac = await sacUpdatesPerSec('sac', n);
  const stac = await sacUpdatesPerSec('stac', n);
  // The same SAC update on tfjs-wasm's own XNNPACK matMul (what a machine without OpenBLAS gets).
  const blas = blasInUse();
  let xnnpack: (Speed & { kernels: number }) | null = null;
  if (blas) {
    useWasmMatMul(tf);
    useTransposeFreeMatMulGrad(tf);
    xnnpack = await sacUpdatesPerSec('sac', quick ? 10 : 60);
  }
  // The baseline runs with tfjs's own kernels and stock matMul gradient, as anyone would get it.
  useStockMatMulGrad(tf);
  const naive = await naiveSacUpdatesPerSec(quick ? 5 : 30);
  if (backend.backend === 'wasm') {
    if (blas) useBlasMatMul(tf, blas.threads);
    else useTransposeFreeMatMulGrad(tf);
  }
  const latency = await inferenceLatency(quick ? 2000 : 20000);
  const ppo = await ppoStepsPerSec(quick);
  const fmt = (x: number, d = 1) => x.toFixed(d);
  const rows: [string, string][] = [
    ['backend', `${backend.backend}${backend.simd !== undefined ? ` (SIMD ${backend.simd}, threads ${backend.threads})` : ''}`],
    ['', 'wall updates/s | per CPU-second (ms CPU/update)'],
    ['SAC updates/s (2×256, batch 256, obs 17, act 6)', `${fmt(sac.updatesPerSec)} | ${fmt(sac.updatesPerCpuSec)} (${fmt(sac.cpuMsPerUpdate)} ms)`],
    ['STAC updates/s (same sizes, dropout 0.01 + LayerNorm)', `${fmt(stac.updatesPerSec)} | ${fmt(stac.updatesPerCpuSec)} (${fmt(stac.cpuMsPerUpdate)} ms)`],
    ...(xnnpack ? ([['SAC updates/s on XNNPACK matMul (no OpenBLAS)', `${fmt(xnnpack.updatesPerSec)} | ${fmt(xnnpack.updatesPerCpuSec)} (${fmt(xnnpack.cpuMsPerUpdate)} ms)`]] as [string, string][]) : []),
    ['naive tfjs SAC updates/s (tf.layers + minimize)', `${fmt(naive.updatesPerSec)} | ${fmt(naive.updatesPerCpuSec)} (${fmt(naive.cpuMsPerUpdate)} ms)`],
    ['speed-up over naive (wall | CPU)', `${fmt(sac.updatesPerSec / naive.updatesPerSec, 2)}× | ${fmt(sac.updatesPerCpuSec / naive.updatesPerCpuSec, 2)}×`],
    ['load average (1 min) during the bench', os.loadavg()[0].toFixed(1)],
    ['policy inference latency, 1 obs (p50 / p99)', `${fmt(latency.p50us)} µs / ${fmt(latency.p99us)} µs`],
    ['PPO env steps/s, CartPole, 8 envs', 'envStepsPerSec' in ppo ? fmt(ppo.envStepsPerSec) : `skipped: ${ppo.skipped}`],
    ['tensors before/after SAC updates', `${sac.tensorsBefore} / ${sac.tensorsAfter}`],
    ['SAC kernels dispatched / tensors created per update', `${sac.kernels} / ${sac.tensorsCreated}`],
  ];
  if (peer) {
    if ('skipped' in peer) rows.push(['PyTorch peer', `skipped: ${peer.skipped}`]);
    else {
      rows.push([`PyTorch peer (torch ${peer.torch}, 1 thread), median of ${peer.rounds.length}`, `${fmt(peer.peerUpdatesPerSec)} | ${fmt(peer.peerUpdatesPerCpuSec)} (${fmt(1000 / peer.peerUpdatesPerCpuSec)} ms)`]);
      rows.push(['embody SAC interleaved with the peer, median', `${fmt(peer.embodyUpdatesPerSec)} | ${fmt(peer.embodyUpdatesPerCpuSec)} (${fmt(1000 / peer.embodyUpdatesPerCpuSec)} ms)`]);
      rows.push(['ratio embody / PyTorch (wall | CPU)', `${fmt(peer.ratio, 2)}× | ${fmt(peer.cpuRatio, 2)}×`]);
    }
  }
  const w = Math.max(...rows.map((r) => r[0].length));
  console.log(`\nembody bench learners${quick ? ' (quick)' : ''}`);
  for (const [k, v] of rows) console.log(`  ${k.padEnd(w)}  ${v}`);
  const result = {
    suite: 'learners',
    date: new Date().toISOString(),
    quick,
    backend,
    sac,
    stac,
    naiveSac: naive,
    sacXnnpack: xnnpack,
    peer,
    speedupOverNaive: sac.updatesPerSec / naive.updatesPerSec,
    speedupOverNaiveCpu: sac.updatesPerCpuSec / naive.updatesPerCpuSec,
    loadAverage: os.loadavg(),
    inference: latency,
    ppo,
    node: process.version,
  };
  const outDir = opts.outDir ?? 'bench/results';
  mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, `${new Date().toISOString().slice(0, 10)}-learners${peer ? '-peer' : ''}${quick ? '-quick' : ''}.json`);
  writeJsonAtomic(file, result);
  console.log(`  wrote ${file}`);
  return result;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const at = process.argv.indexOf('--peer-script');
  await runBench({ quick: process.argv.includes('--quick'), peer: process.argv.includes('--peer') ? { script: at > 0 ? process.argv[at + 1] : undefined } : undefined });
}
