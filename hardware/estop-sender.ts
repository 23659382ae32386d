import type { MqttClient } from 'mqtt';
import { decodeMessage, jsonCodec, makeEnvelope, topicFor, type Codec, type Envelope, type PayloadOf } from './protocol.js';

/**
 * The operator's e-stop (`embody bridge --estop`, `--release`): publish the latched, retained
 * `estop`, and report what the robot's own status says about it.
 */

/** Engage or release a robot's latched e-stop (retained, QoS 1). */
export async function publishEstop(client: MqttClient, robotId: string, engaged: boolean, reason: string, codec: Codec = jsonCodec): Promise<void> {
  const env = makeEnvelope('estop', robotId, Date.now(), { engaged, reason });
  await client.publishAsync(topicFor(robotId, 'estop'), codec.encode(env), { qos: 1, retain: true });
}

export interface EstopOutcome {
  robotId: string;
  /** What the robot's own status said after our message, or null when it said nothing in time. */
  mode: PayloadOf<'status'>['mode'] | null;
  online: boolean | null;
  /** True when the robot's status shows what we asked for. */
  confirmed: boolean;
}

/**
 * Engage or release, then wait for the robot's answer: the agent publishes a fresh status
 * for every e-stop message it receives. A broker that drops our message (ACL) or a robot that
 * refuses a release shows here as not confirmed, never as done.
 */
export async function sendEstop(client: MqttClient, robotId: string, engaged: boolean, reason: string, options: { timeoutMs?: number; codec?: Codec } = {}): Promise<EstopOutcome> {
  const statusTopic = topicFor(robotId, 'status');
  const sentMs = Date.now();
  let last: PayloadOf<'status'> | null = null;
  let wake: () => void = () => {};
  const onMessage = (topic: string, bytes: Buffer) => {
    if (topic !== statusTopic) return;
    const d = decodeMessage(bytes, { robotId, channel: 'status' });
    // Only a status stamped after our message answers it (the retained one is older).
    if (!d.ok || d.msg.tMs < sentMs) return;
    last = (d.msg as Envelope<'status'>).payload;
    wake();
  };
  client.on('message', onMessage);
  try {
    await client.subscribeAsync(statusTopic, { qos: 1 });
    await publishEstop(client, robotId, engaged, reason, options.codec);
    const done = (s: PayloadOf<'status'> | null) => !!s && (s.mode === 'estop') === engaged;
    const deadline = Date.now() + (options.timeoutMs ?? 3000);
    while (!done(last) && Date.now() < deadline) {
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 50);
      });
    }
    const s = last as PayloadOf<'status'> | null;
    return { robotId, mode: s?.mode ?? null, online: s?.online ?? null, confirmed: done(s) };
  } finally {
    client.off('message', onMessage);
    await client.unsubscribeAsync(statusTopic).catch(() => {});
  }
}
