import { parentPort, workerData } from 'node:worker_threads';
import { createMcapSinkInline, unpackFrames, type WorkerOp, type WorkerReply, type WorkerRequest } from './mcap-sink.js';

/** The recording worker: applies batches of sink calls to an inline MCAP sink (see createMcapSink). */
const port = parentPort!;
const { episodesDir, durable } = workerData as { episodesDir: string; durable: boolean };
const sink = createMcapSinkInline(episodesDir, { durable });

let opError: unknown = null;

function apply(ops: WorkerOp[]): void {
  const note = (p: void | Promise<void>) => Promise.resolve(p).catch((err) => (opError ??= err));
  for (const op of ops) {
    // The inline sink queues its own file work; its errors surface at flush/close.
    if (op.k === 'describe') note(sink.describe(op.scene));
    else if (op.k === 'frames') for (const f of unpackFrames(op.buf)) note(sink.frame(f));
    else note(sink.endEpisode!(op.episode, op.metrics));
  }
}

port.on('message', async (msg: WorkerRequest) => {
  try {
    apply(msg.ops);
    if (msg.type === 'ops') return;
    if (msg.type === 'flush') await sink.flush();
    else await sink.close!();
    if (opError) throw opError;
    port.postMessage({ type: 'ack', id: msg.id, written: sink.written } satisfies WorkerReply);
  } catch (err) {
    const error = (err as Error).message ?? String(err);
    port.postMessage(msg.type === 'ops' ? ({ type: 'error', error } satisfies WorkerReply) : ({ type: 'ack', id: msg.id, error, written: sink.written } satisfies WorkerReply));
  }
});
