import type * as tfTypes from '@tensorflow/tfjs';

/**
 * tfjs-wasm's Identity kernel copies its input; the cpu backend's shares the storage and counts a
 * reference. Tensors are immutable, so sharing is equivalent. It matters for gradients: the
 * engine clones (Identity) every tensor it keeps for the backward pass, ~130 copies of up to
 * 256×256 floats per SAC update. Registered once, for wasm only.
 */
interface WasmBackendLike {
  incRef(dataId: object): void;
}
let installed = false;

export function useSharedIdentity(tf: typeof tfTypes): boolean {
  if (installed) return true;
  if (tf.getBackend() !== 'wasm') return false;
  const stock = tf.getKernel('Identity', 'wasm');
  if (!stock) return false;
  tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({
    kernelName: 'Identity',
    backendName: 'wasm',
    kernelFunc: ((args: { inputs: { x: tfTypes.TensorInfo }; backend: WasmBackendLike }) => {
      const { x } = args.inputs;
      if (x.dtype === 'string') return stock.kernelFunc(args as unknown as Parameters<tfTypes.KernelFunc>[0]);
      args.backend.incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    }) as unknown as tfTypes.KernelFunc,
  });
  installed = true;
  return true;
}

/**
 * The engine keeps tensors for the backward pass as `clone`s: an Identity kernel each (lookup,
 * profiler hook, scope bookkeeping) plus a tape node that is always pruned. With shared storage
 * a saved copy is just a second reference, so make it one directly. wasm only, where Identity
 * shares storage (above); same tensors, same gradients.
 */
interface EngineLike {
  backend: { incRef(dataId: object): void };
  saveTensorsForBackwardMode(tensors: tfTypes.Tensor[]): tfTypes.Tensor[];
  makeTensorFromTensorInfo(info: tfTypes.TensorInfo, backend?: unknown): tfTypes.Tensor;
  keep<T extends tfTypes.Tensor>(t: T): T;
}
let savesPatched = false;

export function useSharedSaves(tf: typeof tfTypes): boolean {
  if (savesPatched) return true;
  if (!installed || tf.getBackend() !== 'wasm') return false;
  const engine = tf.engine() as unknown as EngineLike;
  if (typeof engine.saveTensorsForBackwardMode !== 'function' || typeof engine.makeTensorFromTensorInfo !== 'function') return false;
  const stock = engine.saveTensorsForBackwardMode.bind(engine);
  engine.saveTensorsForBackwardMode = (tensors) => {
    if (tf.getBackend() !== 'wasm') return stock(tensors);
    return tensors.map((t) => {
      if (t.dtype === 'string') return engine.keep(t.clone());
      engine.backend.incRef(t.dataId);
      return engine.keep(engine.makeTensorFromTensorInfo({ dataId: t.dataId, shape: t.shape, dtype: t.dtype }));
    });
  };
  savesPatched = true;
  return true;
}
