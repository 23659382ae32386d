import { describe, expect, it } from 'vitest';
import { ValidationError } from '../core/errors.js';
import { InsecureQueueError, parseRedisUrl } from './redis-url.js';
import { configLabel, expandTrials, parseSweepSpec } from './spec.js';

describe('sweep spec', () => {
  const issueExample = { name: 'ppo-lr', command: 'train', scene: 'cartpole', controller: 'ppo', steps: 2048, seeds: [0, 1], grid: { learningRate: [0.0003, 0.001] } };

  it('expands the issue example into configs × seeds with stable ids', () => {
    const spec = parseSweepSpec(issueExample);
    const trials = expandTrials(spec);
    expect(trials.map((t) => t.id)).toEqual(['c0-s0', 'c0-s1', 'c1-s0', 'c1-s1']);
    expect(trials[2].config).toEqual({ learningRate: 0.001 });
    expect(configLabel(spec, trials[2].config)).toBe('learningRate=0.001');
    expect(expandTrials(spec)).toEqual(trials);
  });

  it('crosses grid keys and scenes', () => {
    const trials = expandTrials(parseSweepSpec({ ...issueExample, scene: undefined, scenes: ['cartpole', 'pendulum'], seeds: [3], grid: { a: [1, 2], b: ['x', 'y', 'z'] } }));
    expect(trials).toHaveLength(12);
    expect(new Set(trials.map((t) => t.id)).size).toBe(12);
    expect(trials[0].id).toBe('c0-cartpole-s3');
  });

  it('draws random search from its seed, within the budget', () => {
    const spec = parseSweepSpec({ ...issueExample, grid: {}, random: { learningRate: { logUniform: [1e-4, 1e-2] }, nEpochs: { int: [5, 10] } }, budget: 8 });
    const a = expandTrials(spec);
    expect(a).toHaveLength(8); // 4 configurations × 2 seeds
    for (const t of a) {
      expect(t.config.learningRate as number).toBeGreaterThanOrEqual(1e-4);
      expect(t.config.learningRate as number).toBeLessThanOrEqual(1e-2);
      expect(Number.isInteger(t.config.nEpochs)).toBe(true);
    }
    expect(expandTrials(spec)).toEqual(a);
    expect(expandTrials(parseSweepSpec({ ...spec, searchSeed: 1 }))[0].config).not.toEqual(a[0].config);
  });

  it('refuses a grid over the budget, unknown fields and a train sweep without controller, naming the field', () => {
    expect(() => expandTrials(parseSweepSpec({ ...issueExample, budget: 3 }))).toThrow(/4 trials, over the budget of 3/);
    expect(() => parseSweepSpec({ ...issueExample, seed: [0] })).toThrow(ValidationError);
    expect(() => parseSweepSpec({ ...issueExample, controller: undefined }, 'spec.json')).toThrow(/spec.json: controller: train needs a controller/);
    expect(() => parseSweepSpec({ ...issueExample, name: 'a/b' })).toThrow(/name:/);
  });
});

describe('queue URL security', () => {
  it('accepts loopback without a password, and remote hosts with a password or TLS', () => {
    expect(parseRedisUrl('redis://127.0.0.1:6379').host).toBe('127.0.0.1');
    expect(parseRedisUrl('redis://localhost').port).toBe(6379);
    const remote = parseRedisUrl('redis://:s3cret@10.0.0.5:6380/2');
    expect(remote).toMatchObject({ host: '10.0.0.5', port: 6380, password: 's3cret', db: 2, tls: false });
    expect(remote.display).toBe('redis://10.0.0.5:6380/2'); // never the password
    expect(parseRedisUrl('rediss://queue.example.org:6380').tls).toBe(true);
  });

  it('refuses a remote Redis without password or TLS unless --insecure', () => {
    expect(() => parseRedisUrl('redis://10.0.0.5:6379')).toThrow(InsecureQueueError);
    expect(() => parseRedisUrl('redis://queue.example.org')).toThrow(/without a password .* or TLS .*--insecure/);
    expect(parseRedisUrl('redis://10.0.0.5:6379', { insecure: true }).host).toBe('10.0.0.5');
    expect(() => parseRedisUrl('http://127.0.0.1:6379')).toThrow(/scheme http:/);
    expect(() => parseRedisUrl('not a url')).toThrow(/not a URL/);
  });
});
