import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Controller } from '../src/core/controller.js';
import { replaceDirAtomic, writeJsonAtomic } from '../src/core/atomic.js';
import type { LoadPolicyOptions } from '../controllers/policy/load-policy.js';
import type { TaskModel } from '../sim/task.js';
import { checkDeployBegin, DEPLOY_LIMITS, policyBeginPayload, sniffCodec, type Envelope, type PayloadOf } from './protocol.js';
import { parseStateOrNull, type RejectCounter, type SafetyEvent } from './safety.js';

/**
 * The robot's side of a policy deployment (`policy` channel): receipt of `policy.begin`,
 * `policy.chunk` and `policy.commit`, verification (declared sizes, sha256, the manifest's
 * file list, loading the policy for this robot's task and running it on probe observations),
 * and persistence (atomically, in `<dataDir>/policy` and `policy.json`). A deployment that
 * fails any check is answered `rejected` and leaves the old policy in charge; one that passes
 * is handed to the control loop, which swaps it in between two control steps.
 */

export interface LoadedPolicy {
  controller: Controller;
  /** Task id the policy was trained on, checked against the model's. */
  taskId?: string;
}

/** What the agent loads a policy for: this robot's task (its id and spaces) and model. */
export type PolicyLoader = (dir: string, target: LoadPolicyOptions) => Promise<LoadedPolicy>;

/**
 * The one policy loader (controllers/policy/load-policy.ts): it checks every file's sha256, and
 * refuses a policy whose task or observation/action shapes differ from this robot's task.
 */
export const loadPolicyArtifact: PolicyLoader = async (dir, target) => {
  // Loaded on first use: tfjs is heavy, and a robot in remote mode never needs it.
  const { loadPolicy } = await import('../controllers/policy/load-policy.js');
  const { controller, manifest } = await loadPolicy(dir, target);
  return { controller, taskId: manifest.taskId };
};

/** How the receiver answers and reports: the agent publishes each of these on MQTT. */
export interface DeployPorts {
  ack(deployId: string, status: PayloadOf<'policy.ack'>['status'], extra?: Partial<PayloadOf<'policy.ack'>>): void;
  event(e: SafetyEvent): void;
  /** A message that passed the gate but fails a check here. */
  rejectLate(reason: Parameters<RejectCounter['add']>[0], detail: string): void;
  /** The policy passed every check and is persisted: swap it in. */
  install(controller: Controller, policyId: string): void;
  /** The policy in charge now, for the reports. */
  activePolicyId(): string | null;
  /** The robot's telemetry now (probes use its own observation). */
  readState(): Promise<Record<string, unknown>> | Record<string, unknown>;
  log(line: string): void;
}

export interface DeployReceiverOptions {
  model: TaskModel<any, any>;
  controlPeriodS: number;
  /** Holds `policy/`, `policy.json` and the staging directories. */
  dataDir: string;
  loadPolicy?: PolicyLoader;
}

interface Deployment {
  deployId: string;
  policyId: string;
  files: Map<string, { size: number; sha256: string; chunks: number; received: number; parts: (Buffer | undefined)[] }>;
}

/** A deployment refused for a reason we may tell the sender (it names nothing of the host). */
class DeployRefusal extends Error {}

export class DeployReceiver {
  private readonly model: TaskModel<any, any>;
  private readonly loader: PolicyLoader;
  private deployment: Deployment | null = null;

  constructor(
    private readonly options: DeployReceiverOptions,
    private readonly ports: DeployPorts,
  ) {
    this.model = options.model;
    this.loader = options.loadPolicy ?? loadPolicyArtifact;
  }

  /** The persisted policy, checked as a deployment is; null when there is none or it fails. */
  async resume(): Promise<{ controller: Controller; policyId: string } | null> {
    const dir = this.policyDir();
    // Any artifact format the policy loader reads (embody.policy/2 manifest, or an older dt.json / agent.json).
    if (!['manifest.json', 'dt.json', 'agent.json'].some((f) => existsSync(path.join(dir, f)))) return null;
    try {
      const loaded = await this.checkPolicy(dir);
      const policyId = this.readPolicyMeta()?.policyId ?? 'persisted';
      this.ports.log(`resumed policy ${policyId} from ${dir}`);
      return { controller: loaded.controller, policyId };
    } catch (err) {
      this.ports.event({ kind: 'policy', severity: 'error', detail: `persisted policy failed its check, none active: ${(err as Error).message}` });
      return null;
    }
  }

  async onPolicy(msg: Envelope): Promise<void> {
    if (msg.type === 'policy.begin') {
      const p = msg.payload as PayloadOf<'policy.begin'>;
      const why = checkDeployBegin(p);
      if (why) {
        this.ports.event({ kind: 'policy', severity: 'warn', detail: `deployment ${p.deployId} refused: ${why}` });
        return this.ports.ack(p.deployId, 'rejected', { reason: why });
      }
      this.deployment = {
        deployId: p.deployId,
        policyId: p.policyId,
        files: new Map(p.files.map((f) => [f.name, { size: f.size, sha256: f.sha256, chunks: f.chunks, received: 0, parts: new Array(f.chunks) }])),
      };
      return this.ports.ack(p.deployId, 'ready', { policyId: p.policyId });
    }
    if (msg.type === 'policy.chunk') {
      const p = msg.payload as PayloadOf<'policy.chunk'>;
      const d = this.deployment;
      if (!d || d.deployId !== p.deployId) return this.ports.rejectLate('schema', `chunk for unknown deployment ${p.deployId}`);
      const f = d.files.get(p.file);
      if (!f || p.index >= f.chunks) return this.ports.rejectLate('schema', `chunk ${p.file}:${p.index} not in deployment ${p.deployId}`);
      const data = typeof p.data === 'string' ? Buffer.from(p.data, 'base64') : Buffer.from(p.data);
      const received = f.received - (f.parts[p.index]?.length ?? 0) + data.length;
      // The bytes held never exceed what begin declared: a sender cannot grow our memory.
      if (data.length === 0 || data.length > DEPLOY_LIMITS.maxChunkBytes || received > f.size) {
        this.deployment = null;
        const reason = `file ${p.file}: chunk ${p.index} of ${data.length} bytes takes it past its declared ${f.size} bytes (or the ${DEPLOY_LIMITS.maxChunkBytes}-byte chunk limit)`;
        this.ports.event({ kind: 'policy', severity: 'warn', detail: `deployment ${d.deployId} refused: ${reason}` });
        return this.ports.ack(d.deployId, 'rejected', { reason });
      }
      f.parts[p.index] = data;
      f.received = received;
      return;
    }
    if (msg.type === 'policy.commit') {
      const p = msg.payload as PayloadOf<'policy.commit'>;
      const d = this.deployment;
      if (!d || d.deployId !== p.deployId) return this.ports.ack(p.deployId, 'rejected', { reason: 'unknown deployment' });
      const missing: string[] = [];
      for (const [name, f] of d.files) for (let i = 0; i < f.chunks; i++) if (!f.parts[i]) missing.push(`${name}:${i}`);
      if (missing.length) return this.ports.ack(d.deployId, 'missing', { missing: missing.slice(0, 4096) });
      await this.install(d);
    }
  }

  /** A `policy` message that fails its schema still gets an ack, when it names a deployment. */
  refuseMalformed(bytes: Buffer, detail: string): void {
    try {
      const raw = sniffCodec(bytes)?.decode(bytes) as { type?: unknown; payload?: { deployId?: unknown } } | undefined;
      const id = raw?.payload?.deployId;
      if (typeof id !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(id)) return;
      if (this.deployment?.deployId === id) this.deployment = null;
      this.ports.ack(id, 'rejected', { reason: `malformed ${String(raw?.type).slice(0, 32)}: ${detail}`.slice(0, 1000) });
    } catch {
      // not even an envelope: counted as rejected, nothing to ack
    }
  }

  private async install(d: Deployment): Promise<void> {
    const { dataDir } = this.options;
    const staging = path.join(dataDir, `staging-${d.deployId}`);
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    try {
      for (const [name, f] of d.files) {
        const data = Buffer.concat(f.parts as Buffer[]);
        if (data.length !== f.size) throw new DeployRefusal(`${name}: ${data.length} bytes, expected ${f.size}`);
        // The sender knows the hash it declared; we do not tell it the one we computed.
        if (createHash('sha256').update(data).digest('hex') !== f.sha256) throw new DeployRefusal(`${name}: sha256 does not match the declared one`);
        writeFileSync(path.join(staging, name), data);
        // Let an e-stop (or anything else waiting) in between two files.
        await new Promise((r) => setImmediate(r));
      }
      checkManifestFiles(path.join(staging, 'manifest.json'), [...d.files.keys()]);
      const loaded = await this.checkPolicy(staging);
      // Persist first, then swap: a crash in between resumes the new policy, never half of one.
      await replaceDirAtomic(this.policyDir(), (tmp) => {
        for (const name of readdirSync(staging)) writeFileSync(path.join(tmp, name), readFileSync(path.join(staging, name)));
      });
      writeJsonAtomic(path.join(dataDir, 'policy.json'), { policyId: d.policyId, deployId: d.deployId, installedAt: new Date().toISOString() });
      this.ports.install(loaded.controller, d.policyId);
      this.ports.ack(d.deployId, 'activated', { policyId: d.policyId });
      this.ports.log(`policy ${d.policyId} installed; active from the next control step`);
    } catch (err) {
      const msg = (err as Error).message;
      // Our own refusals are written for the sender; a loader's error may name host paths.
      const reason = err instanceof DeployRefusal ? msg.slice(0, 1000) : `policy does not load: ${redactPaths(msg, staging)}`;
      this.ports.event({ kind: 'policy', severity: 'error', detail: `deployment ${d.deployId} rejected, keeping ${this.ports.activePolicyId() ?? 'no policy'}: ${reason}` });
      this.ports.ack(d.deployId, 'rejected', { reason });
    } finally {
      rmSync(staging, { recursive: true, force: true });
      this.deployment = null;
    }
  }

  /**
   * Load a policy directory for this robot's task (the loader refuses other tasks and shapes) and
   * run it on probe observations (zeros, ±1, seeded noise, and the robot's own observation now):
   * every action must be valid and finite, and map to a setpoint the task accepts.
   */
  private async checkPolicy(dir: string): Promise<LoadedPolicy> {
    const { model } = this;
    const spec = { id: model.id, observationSpace: model.observationSpace, actionSpace: model.actionSpace, controlPeriod: this.options.controlPeriodS };
    const loaded = await this.loader(dir, { spec, context: { seed: 0, model } });
    if (loaded.taskId && loaded.taskId !== model.id) throw new DeployRefusal(`policy is for task ${loaded.taskId}, this robot runs ${model.id}`);
    const space = model.actionSpace;
    const state = parseStateOrNull(model, await this.ports.readState());
    // A controller that reads the state (the navigation composite) is probed on the robot's own
    // observation and state only: a made-up observation would contradict the state it reads.
    if (loaded.controller.privileged && state === null) throw new DeployRefusal("policy needs the robot's state, and the robot's telemetry does not parse");
    const own = state !== null ? model.observe(state) : null;
    const probes = loaded.controller.privileged ? [own!] : probeObservations(model.observationSpace.size, own);
    for (const [k, obs] of probes.entries()) {
      loaded.controller.reset();
      const a = loaded.controller.act(obs, loaded.controller.privileged ? state : undefined);
      if (space.kind === 'box') {
        if (typeof a === 'number' || a.length !== space.size || !Array.from(a).every(Number.isFinite)) {
          throw new DeployRefusal(`policy gives an invalid or non-finite action (${space.size} dims expected) on probe observation ${k}`);
        }
      } else if (typeof a !== 'number' || !Number.isInteger(a) || a < 0 || a >= space.n) {
        throw new DeployRefusal(`policy gives an invalid discrete action on probe observation ${k}`);
      }
      try {
        model.parseSetpoint(model.toSetpoint(a));
      } catch (err) {
        throw new DeployRefusal(`policy action on probe observation ${k} maps to a refused setpoint: ${(err as Error).message}`);
      }
    }
    loaded.controller.reset();
    return loaded;
  }

  private policyDir(): string {
    return path.join(this.options.dataDir, 'policy');
  }

  private readPolicyMeta(): { policyId: string } | null {
    try {
      return JSON.parse(readFileSync(path.join(this.options.dataDir, 'policy.json'), 'utf8'));
    } catch {
      return null;
    }
  }
}

/** Observations a new policy must answer with finite actions: zeros, ±1, and seeded noise (a NaN weight hides behind a zero input). */
function probeObservations(size: number, extra: Float32Array | null): Float32Array[] {
  const probes: Float32Array[] = [new Float32Array(size), new Float32Array(size).fill(1), new Float32Array(size).fill(-1)];
  let seed = 0x9e3779b9;
  for (let k = 0; k < 8; k++) {
    const o = new Float32Array(size);
    for (let i = 0; i < size; i++) {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      o[i] = (seed / 2 ** 32) * 2 - 1;
    }
    probes.push(o);
  }
  if (extra) probes.push(extra);
  return probes;
}

/** An error message with the host's paths taken out, fit for an ack. */
function redactPaths(message: string, dir: string): string {
  // An absolute path starts a word ("/etc/x", "C:\\x"); "embody.policy/2" is not one.
  return message
    .split(dir)
    .join('<policy>')
    .replace(/(^|[\s'"`(=])(?:[A-Za-z]:)?[\\/][^\s'"`:,;()]+/g, '$1<path>')
    .slice(0, 1000);
}

/**
 * The manifest's file list must be exactly the files transferred (manifest.json aside), each a
 * plain name: a manifest can then never make the loader read a file from elsewhere.
 */
export function checkManifestFiles(manifestFile: string, transferred: string[]): void {
  let m: { files?: unknown };
  try {
    m = JSON.parse(readFileSync(manifestFile, 'utf8'));
  } catch {
    throw new DeployRefusal('manifest.json is not JSON');
  }
  const f = m?.files;
  const listed = Array.isArray(f) ? f.map((x) => (typeof x === 'string' ? x : (x as { name?: unknown })?.name)) : f && typeof f === 'object' ? Object.keys(f) : null;
  if (!listed) throw new DeployRefusal('manifest.json has no files list');
  const plain = policyBeginPayload.shape.files.element.shape.name;
  for (const name of listed) if (typeof name !== 'string' || !plain.safeParse(name).success) throw new DeployRefusal('manifest.json lists a file that is not a plain file name');
  const want = new Set(transferred.filter((n) => n !== 'manifest.json'));
  const got = new Set(listed as string[]);
  if (want.size !== got.size || [...want].some((n) => !got.has(n))) {
    throw new DeployRefusal(`manifest.json lists files [${[...got].sort().join(', ')}] but the deployment holds [${[...want].sort().join(', ')}]`.slice(0, 1000));
  }
}
