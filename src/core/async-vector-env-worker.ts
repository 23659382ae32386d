/**
 * The worker side of AsyncVectorEnv: builds its block of envs from the factory, then serves
 * reset/step/close commands, writing into the shared buffers and reporting infos on its port.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import type { Action, Env, EnvState, Info } from './env.js';
import { sharedViews } from './async-vector-env.js';
import { stepWithAutoreset } from './vector-env.js';

const data = workerData as { module: string; exportName: string; args: unknown[][]; start: number; end: number; worker: number; port: MessagePort };
const envs: Env[] = [];
let views: ReturnType<typeof sharedViews> | null = null;
let actSize = 1;
let discrete = false;

function finish(seq: number, infos: Info[] | null, error?: unknown): void {
  data.port.postMessage(error ? { seq, error: error instanceof Error ? error.message : String(error) } : { seq, infos });
  Atomics.store(views!.done, data.worker, seq);
  Atomics.notify(views!.done, data.worker);
}

try {
  const mod = await import(data.module);
  const make = mod[data.exportName] as ((...args: unknown[]) => Env | Promise<Env>) | undefined;
  if (typeof make !== 'function') throw new Error(`${data.module} has no export "${data.exportName}"`);
  for (const args of data.args) envs.push(await make(...args));
  const spec = envs[0].spec;
  discrete = spec.actionSpace.kind === 'discrete';
  const canRestore = envs.every((e) => e.canRestore === true && typeof e.getState === 'function' && typeof e.setState === 'function');
  parentPort!.postMessage({ ready: { spec: { ...spec, observationSpace: spec.observationSpace.toJSON(), actionSpace: spec.actionSpace.toJSON() }, canRestore } });
} catch (err) {
  parentPort!.postMessage({ error: err instanceof Error ? err.message : String(err) });
}

/** The env's state, or null when it cannot be restored or has not been reset yet (getState throws then). */
function stateOf(env: Env): EnvState | null {
  if (!(env.canRestore === true && env.getState && env.setState)) return null;
  try {
    return env.getState();
  } catch {
    return null;
  }
}

parentPort!.on('message', (m: { cmd: string; seq: number; seed?: number; states?: EnvState[]; sab?: SharedArrayBuffer; numEnvs?: number; obsSize?: number; actSize?: number; workers?: number }) => {
  if (m.cmd === 'attach') {
    views = sharedViews(m.sab!, m.numEnvs!, m.obsSize!, m.actSize!, m.workers!);
    actSize = m.actSize!;
    return finish(m.seq, []);
  }
  const v = views!;
  const O = envs[0].spec.observationSpace.size;
  try {
    const infos: Info[] = [];
    if (m.cmd === 'reset') {
      envs.forEach((env, k) => {
        const i = data.start + k;
        const r = env.reset(m.seed === undefined ? {} : { seed: m.seed + i });
        v.obs.set(r.obs, i * O);
        infos.push(r.info);
      });
    } else if (m.cmd === 'step') {
      envs.forEach((env, k) => {
        const i = data.start + k;
        const action: Action = discrete ? v.actions[i * actSize] : v.actions.slice(i * actSize, (i + 1) * actSize);
        const r = stepWithAutoreset(env, action);
        v.obs.set(r.obs, i * O);
        v.rewards[i] = r.reward;
        v.terminated[i] = r.terminated ? 1 : 0;
        v.truncated[i] = r.truncated ? 1 : 0;
        infos.push(r.info);
      });
    } else if (m.cmd === 'getStates') {
      // Infos carry the states here: one per env, env order, like a step's infos.
      for (const env of envs) infos.push(stateOf(env) as unknown as Info);
    } else if (m.cmd === 'setStates') {
      envs.forEach((env, k) => env.setState!(m.states![k]));
    } else if (m.cmd === 'close') {
      for (const env of envs) env.close();
      envs.length = 0;
    }
    finish(m.seq, infos);
  } catch (err) {
    finish(m.seq, null, err);
  }
});
