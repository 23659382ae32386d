#!/usr/bin/env node
// embody runs its TypeScript sources through tsx at run time: no build step, so `npm install` is the only set-up.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
