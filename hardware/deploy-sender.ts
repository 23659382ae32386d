import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { MqttClient } from 'mqtt';
import { EmbodyError } from '../src/core/errors.js';
import { checkDeployBegin, decodeMessage, jsonCodec, makeEnvelope, SeqCounter, topicFor, type Codec, type Envelope, type MessageType, type PayloadOf } from './protocol.js';

/**
 * The ground station's side of a policy deployment (`embody bridge --deploy`): send a policy
 * directory to a robot's agent on `policy` and follow its acks on `policy/ack`. The robot's
 * side is `deploy-receiver.ts`.
 */

export interface DeployOptions {
  /** Raw bytes per chunk (default 48 KiB: 64 KiB once base64, well under the payload cap). */
  chunkSize?: number;
  timeoutMs?: number;
  codec?: Codec;
  policyId?: string;
}

/**
 * The id of a policy directory: the first 16 hex of the sha256 of its manifest (which holds the
 * sha256 of every other file), or of the metadata file of an older artifact (dt.json, agent.json).
 */
export function policyIdOf(dir: string): string {
  const file = ['manifest.json', 'dt.json', 'agent.json'].map((f) => path.join(dir, f)).find((f) => existsSync(f)) ?? path.join(dir, 'manifest.json');
  return createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 16);
}

/**
 * Send a policy directory to a robot's agent: `policy.begin` (file list with sha256), the
 * chunks, `policy.commit`; resend what the agent reports missing; resolve on `activated`,
 * reject on `rejected` or timeout.
 */
export async function deployPolicy(client: MqttClient, robotId: string, dir: string, options: DeployOptions = {}): Promise<{ policyId: string; deployId: string; bytes: number }> {
  const codec = options.codec ?? jsonCodec;
  const chunkSize = options.chunkSize ?? 48 * 1024;
  const names = readdirSync(dir).filter((f) => statSync(path.join(dir, f)).isFile()).sort();
  const files = names.map((name) => {
    const data = readFileSync(path.join(dir, name));
    return { name, data, size: data.length, sha256: createHash('sha256').update(data).digest('hex'), chunks: Math.ceil(data.length / chunkSize) };
  });
  const policyId = options.policyId ?? policyIdOf(dir);
  // The agent would refuse it at begin; say so here, before a byte is sent.
  const tooBig = checkDeployBegin({ files });
  if (tooBig) throw new EmbodyError(`policy ${dir} cannot be deployed: ${tooBig}`);
  const deployId = randomBytes(8).toString('hex');
  const seq = new SeqCounter();
  const ackTopic = topicFor(robotId, 'policy/ack');
  const send = <T extends MessageType>(type: T, payload: PayloadOf<T>) =>
    client.publishAsync(topicFor(robotId, 'policy'), codec.encode(makeEnvelope(type, robotId, seq.next(), payload)), { qos: 1 });
  const sendChunk = (f: (typeof files)[number], index: number) =>
    send('policy.chunk', { deployId, file: f.name, index, data: f.data.subarray(index * chunkSize, (index + 1) * chunkSize).toString('base64') });

  const acks: PayloadOf<'policy.ack'>[] = [];
  let wake: (() => void) | null = null;
  const onMessage = (topic: string, bytes: Buffer) => {
    if (topic !== ackTopic) return;
    const d = decodeMessage(bytes, { robotId, channel: 'policy/ack' });
    if (!d.ok) return;
    const ack = (d.msg as Envelope<'policy.ack'>).payload;
    if (ack.deployId !== deployId) return;
    acks.push(ack);
    wake?.();
  };
  client.on('message', onMessage);
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  const next = async (): Promise<PayloadOf<'policy.ack'>> => {
    while (!acks.length) {
      const left = deadline - Date.now();
      if (left <= 0) throw new EmbodyError(`policy deployment to ${robotId} timed out (no ack from its agent)`);
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, Math.min(left, 200));
      });
      wake = null;
    }
    return acks.shift()!;
  };
  try {
    await client.subscribeAsync(ackTopic, { qos: 1 });
    await send('policy.begin', { deployId, policyId, files: files.map(({ name, size, sha256, chunks }) => ({ name, size, sha256, chunks })) });
    let ack = await next();
    if (ack.status !== 'ready') throw new EmbodyError(`agent ${robotId} refused deployment: ${ack.reason ?? ack.status}`);
    for (const f of files) for (let i = 0; i < f.chunks; i++) await sendChunk(f, i);
    for (let attempt = 0; ; attempt++) {
      await send('policy.commit', { deployId });
      ack = await next();
      if (ack.status === 'activated') break;
      if (ack.status === 'rejected') throw new EmbodyError(`agent ${robotId} rejected policy ${policyId}: ${ack.reason ?? 'no reason given'}`);
      if (ack.status === 'missing' && attempt < 3) {
        for (const m of ack.missing ?? []) {
          const [name, idx] = [m.slice(0, m.lastIndexOf(':')), Number(m.slice(m.lastIndexOf(':') + 1))];
          const f = files.find((x) => x.name === name);
          if (f && idx < f.chunks) await sendChunk(f, idx);
        }
        continue;
      }
      throw new EmbodyError(`agent ${robotId}: deployment ${deployId} ended with ${ack.status}`);
    }
    return { policyId, deployId, bytes: files.reduce((n, f) => n + f.size, 0) };
  } finally {
    client.off('message', onMessage);
    await client.unsubscribeAsync(ackTopic).catch(() => {});
  }
}
