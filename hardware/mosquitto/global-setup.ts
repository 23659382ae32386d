import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { portOpen } from './port-open.js';

/**
 * vitest globalSetup: the hardware tests need a real Mosquitto. If none answers on the test
 * port, start one with start-ci.sh before the suite and stop it after, so `npm test` leaves
 * no broker running. A broker someone else started (a developer, a bench) is left alone.
 */
const HERE = path.dirname(fileURLToPath(import.meta.url));
const DIR = '/tmp/embody-mosquitto';
const PORT = 18830;


export default async function setup(): Promise<(() => void) | undefined> {
  if (await portOpen(PORT)) return undefined;
  const r = spawnSync('bash', [path.join(HERE, 'start-ci.sh')], { encoding: 'utf8' });
  if (r.status !== 0) {
    throw new Error(`the hardware tests need Mosquitto; run: sudo bash scripts/provision.sh\n${r.stderr || r.stdout}`);
  }
  return () => {
    const pidFile = path.join(DIR, 'mosquitto.pid');
    if (!existsSync(pidFile)) return;
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  };
}
