#!/usr/bin/env node
// embody runs its TypeScript sources through tsx at run time: no build step, so `npm install` is the only set-up.
import { register } from 'tsx/esm/api';

// Mesa's Vulkan driver (the webgpu backend on llvmpipe) wants a runtime dir; give it a private one when unset.
if (!process.env.XDG_RUNTIME_DIR) {
  const { mkdirSync } = await import('node:fs');
  const { tmpdir, userInfo } = await import('node:os');
  const dir = `${tmpdir()}/embody-xdg-${userInfo().uid}`;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  process.env.XDG_RUNTIME_DIR = dir;
}
register();
await import('../src/cli/main.ts');
