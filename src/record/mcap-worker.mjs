// Entry of the recording worker thread. Workers do not inherit the parent's TypeScript
// loader, so register tsx here (as bin/embody.js does), then load the worker proper.
import { register } from 'tsx/esm/api';

register();
await import('./mcap-worker.ts');
