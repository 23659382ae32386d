import * as tf from '@tensorflow/tfjs';

/**
 * Direct views of a float32 tensor's storage on the wasm and cpu backends, so that optimiser
 * steps and Polyak updates touch each weight once, in place, instead of copying it out
 * (dataSync), building a new tensor and assigning it. Other backends (tfjs-node, WebGL) get null
 * and the callers fall back to the copying path. Views are valid until the next tfjs
 * allocation (wasm memory may grow): take them, use them, drop them.
 */
interface StorageEntry {
  refCount: number;
  memoryOffset?: number;
  values?: Float32Array;
}
interface BackendLike {
  wasm?: { HEAPU8: Uint8Array };
  dataIdMap?: { get(id: object): StorageEntry | undefined };
  data?: { get(id: object): StorageEntry | undefined };
}

function entry(t: tf.Tensor): { e: StorageEntry; backend: BackendLike } | null {
  if (t.dtype !== 'float32' || t.isDisposed) return null;
  const name = tf.getBackend();
  if (name !== 'wasm' && name !== 'cpu') return null;
  const backend = tf.engine().backend as unknown as BackendLike;
  const e = name === 'wasm' ? backend.dataIdMap?.get(t.dataId) : backend.data?.get(t.dataId);
  return e ? { e, backend } : null;
}

function view(t: tf.Tensor, found: { e: StorageEntry; backend: BackendLike }): Float32Array | null {
  const { e, backend } = found;
  if (backend.wasm && e.memoryOffset != null) return new Float32Array(backend.wasm.HEAPU8.buffer, e.memoryOffset, t.size);
  if (e.values instanceof Float32Array && e.values.length === t.size) return e.values;
  return null;
}

/** A read-only view of the tensor's values (no copy), or null. */
export function readView(t: tf.Tensor): Float32Array | null {
  const found = entry(t);
  return found ? view(t, found) : null;
}

/**
 * A writable view, only when this tensor is the sole owner of its storage (tfjs shares storage
 * between a tensor and its clones and reshapes; writing then would change them too).
 */
export function writableView(t: tf.Tensor): Float32Array | null {
  const found = entry(t);
  return found && found.e.refCount === 1 ? view(t, found) : null;
}
