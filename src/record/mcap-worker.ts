import { parentPort } from 'node:worker_threads';
import { createMcapSinkInline, type InlineMcapSink } from './inline-sink.js';
import { unpackFrames, type WorkerOp, type WorkerReply, type WorkerRequest } from './worker-protocol.js';

/** The recording thread: applies batches of sink calls to one inline MCAP sink per open sink (see createMcapSink). */
const port = parentPort!;
const sinks = new Map<number, { sink: InlineMcapSink; opError: unknown }>();

function apply(id: number, ops: WorkerOp[]) {
  let entry = sinks.get(id);
  for (const op of ops) {
    if (op.k === 'open') {
      sinks.set(id, (entry = { sink: createMcapSinkInline(op.episodesDir, { durable: op.durable, displayHz: op.displayHz, overlayHz: op.overlayHz, blockingFiles: true }), opError: null }));
      continue;
    }
    if (!entry) throw new Error(`sink ${id} used before it was opened`);
    const e = entry;
    // The inline sink queues its own file work; its errors surface at flush/close.
    const note = (p: void | Promise<void>) => Promise.resolve(p).catch((err) => (e.opError ??= err));
    if (op.k === 'describe') note(e.sink.describe(op.scene));
    else if (op.k === 'frames') for (const frame of unpackFrames(op.buf, op.bytes)) note(e.sink.packedFrame(frame));
    else note(e.sink.endEpisode!(op.episode, op.metrics));
  }
  return entry;
}

port.on('message', async (msg: WorkerRequest) => {
  let written: string[] = [];
  try {
    const entry = apply(msg.sink, msg.ops);
    if (msg.type === 'ops') return;
    written = entry?.sink.written ?? [];
    if (msg.type === 'flush') await entry?.sink.flush();
    else {
      sinks.delete(msg.sink);
      await entry?.sink.close!();
    }
    if (entry?.opError) throw entry.opError;
    port.postMessage({ type: 'ack', sink: msg.sink, id: msg.id, written } satisfies WorkerReply);
  } catch (err) {
    const error = (err as Error).message ?? String(err);
    port.postMessage(msg.type === 'ops' ? ({ type: 'error', sink: msg.sink, error } satisfies WorkerReply) : ({ type: 'ack', sink: msg.sink, id: msg.id, error, written } satisfies WorkerReply));
  }
});
