import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type { Action, EnvSpec, EnvState, Info } from './env.js';
import { ContractError } from './errors.js';
import { spaceFromJSON, type SpaceJSON } from './spaces.js';
import type { VectorEnv, VectorStepResult } from './vector-env.js';

/**
 * N envs stepped in worker threads, with Gymnasium's AsyncVectorEnv semantics and the same
 * same-step autoreset as SyncVectorEnv (`stepWithAutoreset`): same seeds ⇒ the same trajectories.
 *
 * Envs cannot be sent to a thread, so each worker builds its own from a factory named by module
 * and export (`createEnv` of sim/registry.ts, say) and one argument list per env. Envs are split
 * into contiguous blocks, one block per worker. Observations, actions, rewards and flags travel
 * through SharedArrayBuffers; infos (episode stats, finalObs) through a MessagePort. `step` blocks
 * with Atomics.wait until every worker is done, so it is a drop-in for SyncVectorEnv;
 * `stepAsync` + `stepWait` let the caller work while the envs step.
 */
export interface EnvFactory {
  /** Module that exports the factory (a file URL or path; TypeScript works when run under tsx). */
  module: string | URL;
  /** The export: (...args) => Env | Promise<Env>. */
  exportName: string;
  /** One argument list per env. */
  args: unknown[][];
}

export interface AsyncVectorEnvOptions {
  /** Worker threads; default min(numEnvs, CPU cores). */
  workers?: number;
  /** Longest wait for a worker, in ms, before `step`/`reset` fail (a crashed worker never answers). */
  timeoutMs?: number;
}

interface WorkerSlot {
  worker: Worker;
  port: MessagePort;
  start: number;
  end: number;
}

/** Shared memory layout (byte sizes, each rounded up to 8), the same in the main thread and the workers. */
function layout(numEnvs: number, obsSize: number, actSize: number, workers: number) {
  const sizes = { obs: 4 * numEnvs * obsSize, actions: 4 * numEnvs * actSize, rewards: 4 * numEnvs, terminated: numEnvs, truncated: numEnvs, done: 4 * workers };
  const offsets = {} as Record<keyof typeof sizes, number>;
  let off = 0;
  for (const k of Object.keys(sizes) as (keyof typeof sizes)[]) {
    offsets[k] = off;
    off += Math.ceil(sizes[k] / 8) * 8;
  }
  return { offsets, bytes: off };
}

export function sharedBytes(numEnvs: number, obsSize: number, actSize: number, workers: number): number {
  return layout(numEnvs, obsSize, actSize, workers).bytes;
}

export function sharedViews(sab: SharedArrayBuffer, numEnvs: number, obsSize: number, actSize: number, workers: number) {
  const { offsets: o } = layout(numEnvs, obsSize, actSize, workers);
  return {
    obs: new Float32Array(sab, o.obs, numEnvs * obsSize),
    actions: new Float32Array(sab, o.actions, numEnvs * actSize),
    rewards: new Float32Array(sab, o.rewards, numEnvs),
    terminated: new Uint8Array(sab, o.terminated, numEnvs),
    truncated: new Uint8Array(sab, o.truncated, numEnvs),
    /** Per worker: the sequence number of the last command it finished. */
    done: new Int32Array(sab, o.done, workers),
  };
}

interface SpecJSON extends Omit<EnvSpec, 'observationSpace' | 'actionSpace'> {
  observationSpace: SpaceJSON;
  actionSpace: SpaceJSON;
}

/** What a worker reports once its envs are built. */
interface ReadyReport {
  spec: SpecJSON;
  /** Every env of its block offers getState/setState (src/core/env.ts). */
  canRestore: boolean;
}

/** The worker script; from TypeScript sources, a small bootstrap that registers tsx first (vitest's transform does not reach workers). */
function workerEntry(): { entry: string | URL; eval: boolean } {
  const ts = import.meta.url.endsWith('.ts');
  const url = new URL(`./async-vector-env-worker.${ts ? 'ts' : 'js'}`, import.meta.url);
  if (!ts) return { entry: url, eval: false };
  const pkg = createRequire(import.meta.url).resolve('tsx/package.json');
  const api = pathToFileURL(path.join(path.dirname(pkg), 'dist', 'esm', 'api', 'index.mjs')).href;
  return { entry: `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); });`, eval: true };
}

export class AsyncVectorEnv implements VectorEnv {
  readonly numEnvs: number;
  readonly obsSize: number;
  readonly actSize: number;
  readonly numWorkers: number;
  /** Every env can be saved and restored mid-episode (`getStates` / `setStates`), as Env.canRestore. */
  readonly canRestore: boolean;
  private seq = 0;
  private pending = false;
  private closed = false;

  private constructor(
    readonly spec: EnvSpec,
    private readonly slots: WorkerSlot[],
    private readonly views: ReturnType<typeof sharedViews>,
    private readonly timeoutMs: number,
    canRestore: boolean,
  ) {
    this.canRestore = canRestore;
    this.numEnvs = views.rewards.length;
    this.obsSize = spec.observationSpace.size;
    this.actSize = spec.actionSpace.kind === 'box' ? spec.actionSpace.size : 1;
    this.numWorkers = slots.length;
  }

  /** Start the workers and build the envs (each worker builds its block, in order). */
  static async create(factory: EnvFactory, options: AsyncVectorEnvOptions = {}): Promise<AsyncVectorEnv> {
    const n = factory.args.length;
    if (n === 0) throw new ContractError('AsyncVectorEnv needs at least one env');
    const workers = Math.max(1, Math.min(n, options.workers ?? os.availableParallelism()));
    const module = factory.module instanceof URL ? factory.module.href : factory.module.startsWith('file:') ? factory.module : pathToFileURL(factory.module).href;
    const { entry, eval: isEval } = workerEntry();
    // The env sizes are known only once an env exists: worker 0 builds its block first and reports the spec.
    const blocks = Array.from({ length: workers }, (_, w) => [Math.floor((w * n) / workers), Math.floor(((w + 1) * n) / workers)] as const);
    const slots: WorkerSlot[] = [];
    let spec: EnvSpec | null = null;
    let canRestore = true;
    let sab: SharedArrayBuffer | null = null;
    try {
      for (const [w, [start, end]] of blocks.entries()) {
        const channel = new MessageChannel();
        const worker = new Worker(entry, {
          eval: isEval,
          workerData: { module, exportName: factory.exportName, args: factory.args.slice(start, end), start, end, worker: w, port: channel.port2 },
          transferList: [channel.port2],
        });
        slots.push({ worker, port: channel.port1, start, end });
        const ready = await new Promise<ReadyReport>((resolve, reject) => {
          worker.once('message', (m: { ready?: ReadyReport; error?: string }) => (m.error ? reject(new ContractError(`AsyncVectorEnv worker ${w}: ${m.error}`)) : resolve(m.ready!)));
          worker.once('error', (err) => reject(new ContractError(`AsyncVectorEnv worker ${w} failed to start: ${err.message}`)));
        });
        canRestore &&= ready.canRestore;
        if (!spec) {
          spec = { ...ready.spec, observationSpace: spaceFromJSON(ready.spec.observationSpace), actionSpace: spaceFromJSON(ready.spec.actionSpace) };
          const actSize = spec.actionSpace.kind === 'box' ? spec.actionSpace.size : 1;
          sab = new SharedArrayBuffer(sharedBytes(n, spec.observationSpace.size, actSize, workers));
        } else if (ready.spec.id !== spec.id || ready.spec.observationSpace.kind !== spec.observationSpace.kind) {
          throw new ContractError(`AsyncVectorEnv: worker ${w} built ${ready.spec.id}, worker 0 built ${spec.id}: all envs must share one spec`);
        }
      }
      const actSize = spec!.actionSpace.kind === 'box' ? spec!.actionSpace.size : 1;
      const views = sharedViews(sab!, n, spec!.observationSpace.size, actSize, workers);
      const venv = new AsyncVectorEnv(spec!, slots, views, options.timeoutMs ?? 120_000, canRestore);
      venv.waitAll(venv.send('attach', { sab, numEnvs: n, obsSize: spec!.observationSpace.size, actSize, workers }), 'attach');
      return venv;
    } catch (err) {
      for (const s of slots) void s.worker.terminate();
      throw err;
    }
  }

  private sendEach(cmd: 'setStates', perWorker: (s: WorkerSlot) => Record<string, unknown>): number {
    if (this.closed) throw new ContractError('AsyncVectorEnv is closed');
    const seq = ++this.seq;
    for (const s of this.slots) s.worker.postMessage({ cmd, seq, ...perWorker(s) });
    return seq;
  }

  private send(cmd: 'attach' | 'reset' | 'step' | 'close' | 'getStates' | 'setStates', extra: Record<string, unknown> = {}): number {
    if (this.closed) throw new ContractError('AsyncVectorEnv is closed');
    const seq = ++this.seq;
    for (const s of this.slots) s.worker.postMessage({ cmd, seq, ...extra });
    return seq;
  }

  /** Block until every worker finished command `seq`; returns the infos, env order. */
  private waitAll(seq: number, what: string): Info[] {
    const infos: Info[] = [];
    for (const [w, s] of this.slots.entries()) {
      const deadline = Date.now() + this.timeoutMs;
      while (Atomics.load(this.views.done, w) !== seq) {
        const seen = Atomics.load(this.views.done, w);
        if (seen === seq) break;
        if (Date.now() > deadline) throw new ContractError(`AsyncVectorEnv: worker ${w} did not finish ${what} within ${this.timeoutMs} ms (crashed?)`);
        Atomics.wait(this.views.done, w, seen, 1000);
      }
      // The worker posts its report before it marks the command done, so it is there now.
      let msg: { seq: number; infos?: Info[]; error?: string } | undefined;
      do msg = receiveMessageOnPort(s.port)?.message;
      while (msg && msg.seq !== seq);
      if (!msg) throw new ContractError(`AsyncVectorEnv: worker ${w} finished ${what} without a report`);
      if (msg.error) throw new ContractError(`AsyncVectorEnv worker ${w} (envs ${s.start}–${s.end - 1}) failed in ${what}: ${msg.error}`);
      infos.push(...(msg.infos ?? []));
    }
    return infos;
  }

  /** Reset every env; env i gets seed + i, as SyncVectorEnv does. */
  reset(options: { seed?: number } = {}): { obs: Float32Array; infos: Info[] } {
    if (this.pending) throw new ContractError('AsyncVectorEnv.reset: a step is in flight (call stepWait first)');
    const seq = this.send('reset', { seed: options.seed });
    const infos = this.waitAll(seq, 'reset');
    return { obs: this.views.obs.slice(), infos };
  }

  /** Start a step (Gymnasium's step_async): writes the actions and returns at once. */
  stepAsync(actions: Action[]): void {
    if (actions.length !== this.numEnvs) throw new ContractError(`AsyncVectorEnv.step: expected ${this.numEnvs} actions, got ${actions.length}`);
    if (this.pending) throw new ContractError('AsyncVectorEnv.stepAsync: the previous step has not been waited for');
    const A = this.actSize;
    for (let i = 0; i < actions.length; i++) {
      const a = actions[i];
      if (typeof a === 'number') this.views.actions[i * A] = a;
      else {
        if (a.length !== A) throw new ContractError(`AsyncVectorEnv.step: action ${i} has ${a.length} values, the action space ${A}`);
        this.views.actions.set(a, i * A);
      }
    }
    this.pending = true;
    this.send('step');
  }

  /** Wait for the step started by stepAsync (Gymnasium's step_wait). */
  stepWait(): VectorStepResult {
    if (!this.pending) throw new ContractError('AsyncVectorEnv.stepWait: no step in flight');
    this.pending = false;
    const infos = this.waitAll(this.seq, 'step');
    const v = this.views;
    return { obs: v.obs.slice(), rewards: v.rewards.slice(), terminated: v.terminated.slice(), truncated: v.truncated.slice(), infos };
  }

  step(actions: Action[]): VectorStepResult {
    this.stepAsync(actions);
    return this.stepWait();
  }

  /**
   * Each env's mid-episode state (Env.getState), env order; null for an env that cannot be
   * restored or has not been reset yet, as controllers/checkpoint's snapshotEnv.
   */
  getStates(): (EnvState | null)[] {
    if (this.pending) throw new ContractError('AsyncVectorEnv.getStates: a step is in flight (call stepWait first)');
    return this.waitAll(this.send('getStates'), 'getStates') as unknown as (EnvState | null)[];
  }

  /** Put each env back into `states[i]` (Env.setState); throws when the envs cannot be restored. */
  setStates(states: EnvState[]): void {
    if (!this.canRestore) throw new ContractError('AsyncVectorEnv.setStates: these envs cannot restore a state (Env.canRestore)');
    if (states.length !== this.numEnvs) throw new ContractError(`AsyncVectorEnv.setStates: expected ${this.numEnvs} states, got ${states.length}`);
    if (this.pending) throw new ContractError('AsyncVectorEnv.setStates: a step is in flight (call stepWait first)');
    this.waitAll(this.sendEach('setStates', (s) => ({ states: states.slice(s.start, s.end) })), 'setStates');
  }

  /** Close every env and stop the workers. */
  close(): void {
    if (this.closed) return;
    if (this.pending) this.stepWait();
    try {
      this.waitAll(this.send('close'), 'close');
    } finally {
      this.closed = true;
      for (const s of this.slots) {
        s.port.close();
        void s.worker.terminate();
      }
    }
  }
}
