import os from 'node:os';

/**
 * The embedded default: at most `size` trials at once on this machine, each in its own process
 * (child.ts). Several sweeps may share one pool (the check:* scripts run one sweep per row).
 */
export interface LocalPool {
  readonly size: number;
  run<T>(task: () => Promise<T>): Promise<T>;
}

export function createLocalPool(size = os.availableParallelism()): LocalPool {
  if (!Number.isInteger(size) || size < 1) throw new Error(`--workers expects a positive integer, got ${size}`);
  let running = 0;
  const waiting: (() => void)[] = [];
  return {
    size,
    async run(task) {
      if (running >= size) await new Promise<void>((resolve) => waiting.push(resolve));
      running++;
      try {
        return await task();
      } finally {
        running--;
        waiting.shift()?.();
      }
    },
  };
}
