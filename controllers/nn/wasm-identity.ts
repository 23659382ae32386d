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
