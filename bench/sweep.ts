/**
 * `embody bench sweep`: what the BullMQ + Redis job layer costs per trial, on a redis-server this
 * bench starts on a free loopback port (and stops). Figures:
 * - per-job queue overhead, enqueue → start → result back at the coordinator, in ms, for a job
 *   that does no work (so it is all queue), one job at a time, with the coordinator listening
 *   through QueueEvents as `embody sweep --queue` does;
 * - moving a trial's files through Redis (blobs.ts): MB/s of put + get + sha256 check.
 * Writes bench/results/<date>-sweep.json with os.loadavg().
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { getFiles, putFiles } from '../src/jobs/blobs.js';
import { listFiles } from '../src/jobs/files.js';
import { connectRedis, parseRedisUrl } from '../src/jobs/redis-url.js';
import { percentile, table, writeBenchResult } from './results-io.js';

const freePort = () =>
  new Promise<number>((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });

export async function runBench(opts: { quick: boolean; outDir: string }): Promise<void> {
  const { Queue, QueueEvents, Worker } = await import('bullmq');
  const port = await freePort();
  const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'embody-bench-sweep-'));
  try {
    const target = parseRedisUrl(`redis://127.0.0.1:${port}`);
    const conns = await Promise.all([0, 1, 2].map(() => connectRedis(target)));
    await conns[0].ping();
    const name = 'bench-sweep';
    const queue = new Queue(name, { connection: conns[0] });
    const events = new QueueEvents(name, { connection: conns[1] });
    await events.waitUntilReady();
    const worker = new Worker(name, async () => ({ ok: true }), { connection: conns[2], concurrency: 1 });
    await worker.waitUntilReady();
    const jobs = opts.quick ? 50 : 300;
    const total: number[] = [];
    const toStart: number[] = [];
    const toResult: number[] = [];
    for (let i = 0; i < jobs; i++) {
      const t0 = Date.now();
      const tp = performance.now();
      const job = await queue.add('noop', { i }, { jobId: `j${i}`, removeOnComplete: false });
      await job.waitUntilFinished(events);
      const back = performance.now();
      const done = await queue.getJob(job.id!);
      total.push(back - tp);
      toStart.push(done!.processedOn! - t0);
      toResult.push(back - tp - (done!.processedOn! - t0));
    }
    await worker.close();
    await events.close();
    await queue.close();

    // A trial-sized set of files through Redis: 4 files of 1 MiB (policy + metrics size class).
    const src = path.join(tmp, 'src');
    const dst = path.join(tmp, 'dst');
    mkdirSync(src, { recursive: true });
    for (let k = 0; k < 4; k++) {
      const buf = Buffer.alloc(2 ** 20);
      for (let j = 0; j < buf.length; j += 4) buf.writeUInt32LE((Math.imul(j, 2654435761) + k) >>> 0, j);
      writeFileSync(path.join(src, `f${k}.bin`), buf);
    }
    const files = listFiles(src);
    const tf = performance.now();
    await putFiles(conns[0], src, files);
    await getFiles(conns[0], dst, files);
    const fileSeconds = (performance.now() - tf) / 1000;
    const mb = files.reduce((a, f) => a + f.bytes, 0) / 2 ** 20;
    for (const c of conns) c.disconnect();

    const row = (label: string, xs: number[]) => ({ figure: label, 'p50 ms': percentile(xs, 50), 'p95 ms': percentile(xs, 95), 'mean ms': xs.reduce((a, b) => a + b, 0) / xs.length });
    const rows = [row('enqueue → start', toStart), row('start → result back', toResult), row('enqueue → result back', total)];
    console.log(table(rows));
    console.log(`files through Redis: ${mb.toFixed(0)} MiB put + get + sha256 in ${fileSeconds.toFixed(2)} s = ${(mb / fileSeconds).toFixed(0)} MiB/s`);
    const file = writeBenchResult(opts.outDir, 'sweep', {
      jobs,
      loadAverage: os.loadavg(),
      queueOverheadMs: Object.fromEntries(rows.map((r) => [r.figure, { p50: r['p50 ms'], p95: r['p95 ms'], mean: r['mean ms'] }])),
      filesThroughRedis: { mebibytes: mb, seconds: fileSeconds, mebibytesPerSecond: mb / fileSeconds },
    });
    console.log(`wrote ${file}`);
  } finally {
    server.kill('SIGTERM');
    rmSync(tmp, { recursive: true, force: true });
  }
}
