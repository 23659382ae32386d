import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployPolicy } from './deploy-sender.js';
import { publishEstop } from './estop-sender.js';
import { connectClient, endClient } from './client.js';
import { aedesBroker, fitImitationPolicy, type BrokerHandle } from './fixtures.js';
import { decodeMessage, topicFor, type Envelope } from './protocol.js';

/**
 * The real `embody agent` process: deploy a policy to it, e-stop it, SIGKILL it, start it again:
 * it comes back with the same policy and still e-stopped, and flies again only on release.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
let work: string;
let policyDir: string;
let h: BrokerHandle;

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'embody-cli-'));
  policyDir = path.join(work, 'policy');
  await fitImitationPolicy(policyDir, { seed: 0 });
  h = await aedesBroker();
}, 120_000);

afterAll(async () => {
  await h?.close();
  rmSync(work, { recursive: true, force: true });
});

function startAgent(dataDir: string): ChildProcess {
  const args = [path.join(ROOT, 'bin', 'embody.js'), 'agent', '--broker', h.url, '--robot', 'r10', '--driver', 'sim', '--scene', 'uav-small', '--data-dir', dataDir, '--mode', 'auto'];
  return spawn(process.execPath, args, { cwd: ROOT, stdio: 'ignore', env: { ...process.env, EMBODY_MQTT_PASSWORD: h.robot('r10').password } });
}

describe('embody agent (a real process)', () => {
  it('SIGKILLed and restarted, it resumes with the same policy and the same e-stop state', async () => {
    const dataDir = path.join(work, 'agent-r10');
    const op = await connectClient({ url: h.url, ...h.bridge });
    let status: Envelope<'status'>['payload'] | null = null;
    op.on('message', (topic, bytes) => {
      if (topic !== topicFor('r10', 'status')) return;
      const d = decodeMessage(bytes, { robotId: 'r10', channel: 'status' });
      if (d.ok) status = (d.msg as Envelope<'status'>).payload;
    });
    await op.subscribeAsync(topicFor('r10', 'status'), { qos: 1 });
    const waitStatus = async (pred: (s: NonNullable<typeof status>) => boolean, what: string, ms = 30_000) => {
      const end = Date.now() + ms;
      while (!(status && pred(status))) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}; last status ${JSON.stringify(status)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    let agent = startAgent(dataDir);
    try {
      await waitStatus((s) => s.online, 'the agent to come online');
      const { policyId } = await deployPolicy(op, 'r10', policyDir);
      await waitStatus((s) => s.mode === 'policy' && s.policyId === policyId, 'the agent to fly the policy');
      await publishEstop(op, 'r10', true, 'test');
      await waitStatus((s) => s.mode === 'estop', 'e-stop');
      agent.kill('SIGKILL');
      await waitStatus((s) => !s.online, 'the last will (offline)', 15_000);
      agent = startAgent(dataDir);
      await waitStatus((s) => s.online, 'the restarted agent');
      expect(status!.policyId).toBe(policyId);
      expect(status!.mode).toBe('estop');
      await publishEstop(op, 'r10', false, 'clear');
      await waitStatus((s) => s.mode === 'policy', 'flying again after release');
    } finally {
      agent.kill('SIGKILL');
      await endClient(op);
    }
  }, 90_000);
});
