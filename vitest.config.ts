import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  // examples/ import 'embody' as users do; in a checkout (no dist/ yet) that is the sources.
  resolve: {
    alias: [
      { find: /^embody$/, replacement: here('./src/index.ts') },
      { find: /^embody\/sim$/, replacement: here('./sim/index.ts') },
    ],
  },
  test: {
    include: ['src/**/*.test.ts', 'sim/**/*.test.ts', 'controllers/**/*.test.ts', 'hardware/**/*.test.ts', 'bench/**/*.test.ts'],
    // Real Rapier, tfjs and brokers: give slow machines room, but keep every test honest.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Starts a real Mosquitto for the hardware tests when none runs, and stops it afterwards.
    globalSetup: ['hardware/mosquitto/global-setup.ts'],
  },
});
