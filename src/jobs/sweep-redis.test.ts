import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyFiles } from './files.js';
import { parseSweepSpec } from './spec.js';
import { runSweep } from './sweep.js';
import { SweepFile } from './sweep-file.js';

/**
 * The distributed sweep against a real redis-server and two real `embody worker` processes, one
 * SIGKILLed mid-trial; then the same spec on the local pool must give the same figures.
 */
const ROOT = path.resolve(import.meta.dirname, '../..');
const redisServer = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((f) => existsSync(f)) ?? (spawnSync('sh', ['-c', 'command -v redis-server']).stdout.toString().trim() || null);
if (!redisServer && process.env.CI === 'true') {
  throw new Error('redis-server is not installed: the sweep tests need Debian\'s redis-server (apt-get install redis-server)');
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });

const spec = parseSweepSpec({
  name: 'ci-ppo',
  command: 'train',
  scene: 'cartpole',
  controller: 'ppo',
  steps: 512,
  seeds: [0, 1, 2],
  grid: { learningRate: [0.0003, 0.001] },
  config: { evalEvery: 256, evalEpisodes: 2 },
});

describe.skipIf(!redisServer)('sweep on BullMQ + Redis', () => {
  let tmp: string;
  let redis: ChildProcess;
  let url: string;
  const workers: ChildProcess[] = [];
  const logs: Record<string, string> = {};

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'embody-sweep-'));
    const port = await freePort();
    url = `redis://127.0.0.1:${port}`;
    redis = spawn(redisServer!, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    const { Redis } = await import('ioredis');
    for (let i = 0; ; i++) {
      const c = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null });
      const ok = await c.connect().then(() => c.ping()).catch(() => null);
      c.disconnect();
      if (ok === 'PONG') break;
      if (i > 50) throw new Error('redis-server did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const name of ['wA', 'wB']) {
      // Own process group: killing it kills the worker and its trial process, as a dead machine would.
      const w = spawn(process.execPath, ['bin/embody.js', 'worker', '--queue', url, '--name', name, '--lock-ms', '2000', '--work-dir', path.join(tmp, name)], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      logs[name] = '';
      w.stdout!.on('data', (d) => (logs[name] += d));
      w.stderr!.on('data', (d) => (logs[name] += d));
      workers.push(w);
    }
    for (let i = 0; !workers.every((_, k) => logs[k ? 'wB' : 'wA'].includes('taking trials')); i++) {
      if (i > 300) throw new Error(`workers did not start:\n${logs.wA}\n${logs.wB}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  afterAll(async () => {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) process.kill(-w.pid!, 'SIGKILL');
    redis?.kill('SIGTERM');
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('runs 6 trials on 2 workers, survives a SIGKILLed worker, records each result once, and matches the local pool', async () => {
    const sweep = runSweep({ spec, out: path.join(tmp, 'queue'), queue: url, quiet: true });
    // Kill wA once the coordinator holds a checkpoint of the trial wA is running (mid-trial: step < 512).
    let killed: string | null = null;
    for (let i = 0; !killed; i++) {
      if (i > 600) throw new Error(`wA never reached a checkpoint:\n${logs.wA}`);
      await new Promise((r) => setTimeout(r, 100));
      const dirs = existsSync(path.join(tmp, 'queue')) ? (await import('node:fs')).readdirSync(path.join(tmp, 'queue')) : [];
      if (!dirs.length) continue;
      const state = JSON.parse(readFileSync(path.join(tmp, 'queue', dirs[0], 'sweep.json'), 'utf8')) as SweepFile;
      const t = state.trials.find((x) => x.worker === 'wA' && x.status === 'running' && x.checkpointStep !== null && x.checkpointStep < 512);
      if (t) {
        process.kill(-workers[0].pid!, 'SIGKILL');
        killed = t.id;
      }
    }
    const rec = await sweep;
    expect(rec.counts()).toEqual({ queued: 0, running: 0, done: 6, failed: 0 });
    const lines = readFileSync(path.join(rec.dir, 'results.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.trial).sort()).toEqual(rec.state.trials.map((t) => t.id).sort());
    const again = rec.trial(killed);
    expect(again.worker).toBe('wB');
    expect(again.attempts).toBeGreaterThanOrEqual(2);
    expect(again.summary!.resumedFrom).toBeTruthy(); // the checkpoint that reached the coordinator
    for (const t of rec.state.trials) {
      verifyFiles(path.join(rec.dir, t.id), t.files); // the files that came back through Redis are the ones sent
      expect(existsSync(path.join(rec.dir, t.runDir!, 'policy', 'manifest.json'))).toBe(true);
      expect(t.files.some((f) => f.path.endsWith('/summary.json'))).toBe(true);
    }

    const local = await runSweep({ spec, out: path.join(tmp, 'local'), workers: 2, quiet: true });
    const figures = (r: typeof rec) => r.state.trials.map((t) => ({ id: t.id, seed: t.seed, config: t.config, score: t.score, envSteps: t.summary!.envSteps, finalEval: t.summary!.finalEval }));
    expect(figures(rec)).toEqual(figures(local));
    expect(rec.state.best).toEqual(local.state.best);
  }, 180_000);
});
