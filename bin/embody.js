#!/usr/bin/env node
// In a source checkout, embody runs its TypeScript through tsx (no build step); an
// installed package runs the JavaScript that `npm pack` built into dist/ (see prepack).
import { existsSync } from 'node:fs';

const sources = new URL('../src/cli/main.ts', import.meta.url);
if (existsSync(sources)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(sources.href);
} else {
  await import(new URL('../dist/src/cli/main.js', import.meta.url).href);
}
