// Entry of the recording worker thread. Workers do not inherit the parent's TypeScript
// loader: in the built package (dist/) the compiled worker sits beside this file; in the
// sources, register tsx here (as bin/embody.js does), then load the worker proper.
import { existsSync } from 'node:fs';

const built = new URL('./mcap-worker.js', import.meta.url);
if (existsSync(built)) {
  await import(built.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./mcap-worker.ts');
}
