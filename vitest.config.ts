import { defineConfig } from 'vitest/config';

export default defineConfig({
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
