import type { Driver, DriverFactory } from './driver.js';
import { createSimDriver } from './sim.js';

/**
 * Drivers by name (`embody agent --driver <name>`). A robot team adds its device here: one
 * entry and a static import of its factory. The registry imports the drivers and the drivers
 * import only `driver.ts`, so the two never import each other.
 */
export const DRIVERS: Record<string, { description: string; create: DriverFactory }> = {
  sim: {
    description: 'a Rapier world built from --scene, advanced one control period per command (lockstep)',
    create: createSimDriver,
  },
};

export async function createDriver(name: string, options: Record<string, unknown>): Promise<Driver> {
  const entry = Object.hasOwn(DRIVERS, name) ? DRIVERS[name] : undefined;
  if (!entry) throw new Error(`unknown driver "${name}". Known: ${Object.keys(DRIVERS).join(', ')}`);
  return entry.create(options);
}
