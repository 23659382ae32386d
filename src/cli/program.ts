import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { PACKAGE_VERSION } from '../experiment/run-dir.js';

/**
 * The `embody` command. Each subcommand lives in src/cli/commands/<name>.ts and exports
 * `register(program)`; heavy imports (Rapier, tfjs, mqtt) happen inside the action, so
 * `embody --help` stays fast.
 */
const here = path.dirname(fileURLToPath(import.meta.url));

export async function buildProgram(): Promise<Command> {
  const program = new Command('embody')
    .description('Embodied simulation and control: Rapier worlds, TensorFlow.js controllers, one policy in sim and on hardware over MQTT.')
    .version(PACKAGE_VERSION)
    .showHelpAfterError();
  const dir = path.join(here, 'commands');
  const files = readdirSync(dir)
    // .ts in the sources (tsx), .js in the built package; never tests or declarations.
    .filter((f) => /\.(ts|js)$/.test(f) && !/\.(test|d)\.[tj]s$/.test(f))
    .sort();
  for (const f of files) {
    const mod = await import(pathToFileURL(path.join(dir, f)).href);
    if (typeof mod.register === 'function') mod.register(program);
  }
  return program;
}
