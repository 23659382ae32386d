import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { createEnv } from '../../sim/registry.js';
import type { NavModel } from '../../sim/navigation/model.js';
import { createController } from '../load.js';
import { convertPolicy, loadMlpPolicy, loadPolicy, PolicyManifestSchema, readPolicyManifest, RunningNormalizer, saveScripted } from './index.js';

/**
 * The artifact contract beyond the round trip (policy.test.ts): older formats load or convert,
 * the committed navigation policy is refused where its observation does not fit and runs inside
 * the navigation composite, and normalisers refuse an input of the wrong length.
 */
const tmp = mkdtempSync(path.join(tmpdir(), 'embody-contract-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const NAV_POLICY = new URL('../planning/policies/nav-waypoint-sac', import.meta.url).pathname;

/** The committed waypoint policy as its v1 artifact (before conversion): the same files, a v1 manifest. */
async function v1Copy(): Promise<string> {
  const dir = path.join(tmp, `v1-${Math.random().toString(36).slice(2)}`);
  cpSync(NAV_POLICY, dir, { recursive: true });
  const { manifest } = await readPolicyManifest(NAV_POLICY);
  if (manifest.runtime !== 'mlp') throw new Error('expected an MLP');
  const n = manifest.observationNormalization;
  const v1 = {
    format: 'embody.policy/1',
    kind: manifest.kind,
    taskId: manifest.taskId,
    scene: manifest.scene,
    observationSpace: manifest.observationSpace,
    actionSpace: manifest.actionSpace,
    observationNormalization: n && n.kind === 'running' ? { count: n.count, mean: n.mean, var: n.var, clip: n.clip, epsilon: n.epsilon } : null,
    head: manifest.mlp.head,
    actionScaling: manifest.actionScaling,
    network: manifest.mlp.network,
    model: { topology: 'model.json', weights: 'weights.bin' },
    trainingRunId: manifest.trainingRunId,
    packageVersion: manifest.packageVersion,
    createdAt: manifest.createdAt,
    files: manifest.files,
  };
  writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(v1, null, 2));
  return dir;
}

describe('policy artifact contract', () => {
  it('the committed nav-waypoint policy: v2, refused on nav-office (37 vs 44) naming both shapes, run as the composite follower', async () => {
    const { manifest } = await readPolicyManifest(NAV_POLICY);
    expect(manifest.format).toBe('embody.policy/2');
    expect(manifest.task?.limits.setpoint.v).toEqual([-0.8, 0.8]);
    const office = await createEnv('nav-office', { seed: 0 });
    await expect(createController(NAV_POLICY, office.spec, { seed: 0, model: office.model })).rejects.toThrow(/shape \[37\].*nav-office.*shape \[44\].*nav-learned --controller-opt policy=/);
    // As nav-learned's follower (its option, not an environment variable), it gets the waypoint observation it was trained on.
    const agent = await createController('nav-learned-critic', office.spec, { seed: 0, model: office.model, options: { policy: NAV_POLICY, lookahead: '1.2' } });
    expect(agent.kind).toBe('nav-learned-critic');
    await expect(createController('nav-learned', office.spec, { seed: 0, model: office.model })).rejects.toThrow(/--controller-opt policy=<dir>/);
    // The committed composite runs on nav-office itself.
    const composite = await createController(new URL('../planning/policies/nav-office-learned-critic', import.meta.url).pathname, office.spec, { seed: 0, model: office.model });
    expect(composite.kind).toBe('nav-learned-critic');
    office.close();
    // Its own scene fits.
    const wp = await createEnv('nav-waypoint', { seed: 0 });
    const { controller } = await loadPolicy(NAV_POLICY, { spec: wp.spec });
    expect((controller.act(wp.reset({ seed: 1 }).obs) as Float32Array).length).toBe(2);
    wp.close();
  });

  it("nav-learned's follower is read without the loader: an MLP acts as loadPolicy's does; another runtime is refused by name", async () => {
    const wp = await createEnv('nav-waypoint', { seed: 0 });
    const obs = wp.reset({ seed: 2 }).obs;
    const viaLoader = (await loadPolicy(NAV_POLICY, { spec: wp.spec })).controller;
    const direct = (await loadMlpPolicy(NAV_POLICY, wp.spec)).controller;
    expect(Array.from(direct.act(obs) as Float32Array)).toEqual(Array.from(viaLoader.act(obs) as Float32Array));
    // A scripted artifact for the same task: the one loader builds it, the follower reader refuses it.
    const scripted = path.join(tmp, 'scripted-random');
    await saveScripted(scripted, { name: 'random', spec: wp.spec });
    expect((await loadPolicy(scripted, { spec: wp.spec })).controller.kind).toBe('random');
    await expect(loadMlpPolicy(scripted, wp.spec)).rejects.toThrow(/scripted-random: expected an MLP policy \(runtime mlp\), not scripted/);
    wp.close();
    const office = await createEnv('nav-office', { seed: 0 });
    await expect(createController('nav-learned', office.spec, { seed: 0, model: office.model, options: { policy: scripted } })).rejects.toThrow(/expected an MLP policy \(runtime mlp\), not scripted/);
    office.close();
  });

  it('an embody.policy/1 artifact still loads (same actions), and embody convert rewrites it as v2 atomically', async () => {
    const v1 = await v1Copy();
    const env = await createEnv('nav-waypoint', { seed: 0 });
    const a = await loadPolicy(v1, { spec: env.spec });
    expect(a.legacyFormat).toBe('embody.policy/1');
    const b = await loadPolicy(NAV_POLICY, { spec: env.spec });
    const obs = env.reset({ seed: 4 }).obs;
    expect(Array.from(a.controller.act(obs) as Float32Array)).toEqual(Array.from(b.controller.act(obs) as Float32Array));
    const out = path.join(tmp, 'converted');
    const { manifest, from } = await convertPolicy(v1, { out, target: env.spec, task: env.taskParams(null) });
    expect(from).toBe('embody.policy/1');
    expect(PolicyManifestSchema.parse(JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8'))).runtime).toBe('mlp');
    expect(manifest.extra?.convertedFrom).toBe('embody.policy/1');
    const c = await loadPolicy(out, { spec: env.spec });
    expect(c.legacyFormat).toBeUndefined();
    expect(Array.from(c.controller.act(obs) as Float32Array)).toEqual(Array.from(b.controller.act(obs) as Float32Array));
    // An unknown format names the formats this version reads.
    writeFileSync(path.join(v1, 'manifest.json'), JSON.stringify({ format: 'embody.policy/9' }));
    await expect(readPolicyManifest(v1)).rejects.toThrow(/embody\.policy\/9.*embody\.policy\/2.*embody convert/);
    env.close();
  });

  it('a legacy dt.json artifact loads and converts; a legacy agent.json needs its scene to convert', async () => {
    const { dtConfig } = await import('../dt/config.js');
    const { dtParamSpecs, initDtWeights } = await import('../dt/weights.js');
    const env = await createEnv('uav-small', { seed: 0 });
    const S = env.spec.observationSpace.size;
    const A = env.spec.actionSpace.size;
    const config = dtConfig({ K: 4, embed: 8, layers: 1, heads: 2, dropout: 0 });
    const { packWeights } = await import('../dt/artifact.js');
    const { flat, params } = packWeights(initDtWeights(dtParamSpecs(config, S, A), new Rng(1)));
    const dir = path.join(tmp, 'dt-legacy');
    rmSync(dir, { recursive: true, force: true });
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'weights.bin'), new Uint8Array(flat.buffer));
    const dtJson = { format: 'embody.dt/1', config, obsDim: S, actDim: A, obsMean: new Array(S).fill(0), obsStd: new Array(S).fill(1), rtgScale: 10, targetReturn: 3, params, taskId: env.spec.id, scene: 'uav-small' };
    writeFileSync(path.join(dir, 'dt.json'), JSON.stringify(dtJson));
    const legacy = await loadPolicy(dir, { spec: env.spec });
    expect(legacy.legacyFormat).toBe('embody.dt/1');
    const obs = env.reset({ seed: 2 }).obs;
    const a0 = Array.from(legacy.controller.act(obs) as Float32Array);
    const out = path.join(tmp, 'dt-v2');
    await convertPolicy(dir, { out, task: env.taskParams(null) });
    const v2 = await loadPolicy(out, { spec: env.spec });
    expect(v2.manifest.runtime).toBe('dt');
    expect(Array.from(v2.controller.act(obs) as Float32Array)).toEqual(a0);
    const city = await createEnv('uav-city', { seed: 0 });
    await expect(loadPolicy(out, { spec: city.spec })).rejects.toThrow(/shape \[32\].*shape \[56\]/);
    city.close();
    env.close();
    // agent.json names no spaces: reading it without a task says how to convert it.
    const critic = path.join(tmp, 'critic-legacy');
    mkdirSync(critic);
    writeFileSync(path.join(critic, 'agent.json'), JSON.stringify({ format: 'embody.manip-critic/1', task: 'manipulation-grasp-invisible', P: 64, R: 16 }));
    await expect(readPolicyManifest(critic)).rejects.toThrow(/embody convert .* --scene <scene>/);
  });

  it('a normaliser refuses an observation of the wrong length, and so does the policy', async () => {
    const n = new RunningNormalizer(3);
    expect(() => n.normalize([1, 2])).toThrow(/expected an observation of 3 values, got 2/);
    expect(() => n.normalize([1, 2, 3, 4])).toThrow(/got 4/);
    const env = await createEnv('nav-waypoint', { seed: 0 });
    const { controller } = await loadPolicy(NAV_POLICY, { spec: env.spec });
    expect(() => controller.act(new Float32Array(44))).toThrow(/expected an observation of 37 values, got 44/);
    env.close();
  });

  it('the navigation composite takes the look-ahead from its manifest, or from the controller option', async () => {
    const { saveNavComposite } = await import('../planning/composite.js');
    const env = await createEnv('nav-office', { seed: 0 });
    const dir = path.join(tmp, 'composite');
    const m = await saveNavComposite(dir, { followerDir: NAV_POLICY, critic: false, lookahead: 0.9, spec: env.spec, model: env.model as NavModel });
    expect(m.kind).toBe('nav-learned');
    expect(m.navigation.follower.kind === 'learned' && m.navigation.follower.observationSpace.kind === 'box' && m.navigation.follower.observationSpace.shape).toEqual([37]);
    await expect(createController(dir, env.spec, { seed: 0, model: env.model, options: { lookahead: '-1' } })).rejects.toThrow(/lookahead=-1/);
    // A follower that does not fit the waypoint observation is refused when the composite is made.
    const uav = await createEnv('uav-small', { seed: 0 });
    const { saveScripted } = await import('./artifact.js');
    const other = path.join(tmp, 'hover');
    await saveScripted(other, { name: 'hover', spec: uav.spec });
    await expect(saveNavComposite(path.join(tmp, 'bad'), { followerDir: other, critic: false, lookahead: 1, spec: env.spec, model: env.model as NavModel })).rejects.toThrow(/MLP/);
    uav.close();
    env.close();
  });
});
