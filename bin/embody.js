#!/usr/bin/env node
// In a source checkout, embody runs its TypeScript through tsx (no build step); an
// installed package runs the JavaScript that `npm pack` built into dist/ (see prepack).
import { existsSync } from 'node:fs';

// Mesa's Vulkan driver (the webgpu backend on llvmpipe) wants a runtime dir; give it a private one when unset.
if (!process.env.XDG_RUNTIME_DIR) {
  const { mkdirSync } = await import('node:fs');
  const { tmpdir, userInfo } = await import('node:os');
  const dir = `${tmpdir()}/embody-xdg-${userInfo().uid}`;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  process.env.XDG_RUNTIME_DIR = dir;
}
const sources = new URL('../src/cli/main.ts', import.meta.url);
if (existsSync(sources)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(sources.href);
} else {
  await import(new URL('../dist/src/cli/main.js', import.meta.url).href);
}
