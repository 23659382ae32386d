import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { portOpen } from './port-open.js';

/**
 * vitest globalSetup: the hardware tests need a real Mosquitto. If none answers on the test
 * port, start one with start-ci.sh before the suite and stop it after, so `npm test` leaves
 * no broker running. A broker someone else started (a developer, a bench) is left alone, but
 * only if it takes the credentials in credentials.json: a broker left from another run with
 * other passwords would fail every hardware test with "Not authorized", so that is refused here
 * once, by name, before any test runs.
 */
const HERE = path.dirname(fileURLToPath(import.meta.url));
const DIR = '/tmp/embody-mosquitto';
const PORT = 18830;


/** Why the broker on PORT refuses our bridge account, or null when it takes it. */
async function refusal(): Promise<string | null> {
  const file = path.join(DIR, 'credentials.json');
  if (!existsSync(file)) return `${file} is missing, so its passwords are not the broker's`;
  const { bridge } = JSON.parse(readFileSync(file, 'utf8')) as { bridge: { username: string; password: string } };
  const client = mqtt.connect(`mqtt://127.0.0.1:${PORT}`, { ...bridge, reconnectPeriod: 0, connectTimeout: 3000, clientId: `global-setup-${process.pid}` });
  return new Promise((resolve) => {
    client.once('connect', () => client.end(true, () => resolve(null)));
    client.once('error', (e) => client.end(true, () => resolve(e.message)));
  });
}

export default async function setup(): Promise<(() => void) | undefined> {
  if (await portOpen(PORT)) {
    const why = await refusal();
    if (why === null) return undefined;
    throw new Error(
      `a broker answers on 127.0.0.1:${PORT} but refuses the test credentials (${why}): a Mosquitto left ` +
        `from another run? Stop it (ps aux | grep mosquitto) and run the tests again.`,
    );
  }
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
