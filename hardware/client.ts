import type { IClientOptions, MqttClient } from 'mqtt';
import { EmbodyError } from '../src/core/errors.js';

/**
 * The MQTT client every embody process uses (mqtt.js v5). Two settings matter for control:
 * - `queueQoSZero: false`: mqtt.js otherwise queues QoS-0 commands without limit while
 *   offline and bursts them all on reconnect, i.e. it would execute stale commands.
 * - TCP no-delay on each (re)connected socket, so a 100-byte command is not held back by
 *   Nagle's algorithm waiting for the previous segment's ACK.
 */

export interface ClientOptions {
  url: string;
  clientId?: string;
  username?: string;
  password?: string;
  /** Allow a non-loopback broker without TLS and credentials. */
  insecure?: boolean;
  /** Disable Nagle (default true); false only to measure its effect. */
  noDelay?: boolean;
  /** Last will (the robot's `status` offline message). */
  will?: IClientOptions['will'];
  /** ms between reconnect attempts (default 250). */
  reconnectPeriod?: number;
  /** Extra mqtt.js options (TLS ca/cert/key, keepalive...). */
  extra?: Partial<IClientOptions>;
}

export class InsecureBrokerError extends EmbodyError {}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * The rule from DESIGN.md: a broker off this machine needs TLS and credentials, unless the
 * user says `--insecure`. Throws an InsecureBrokerError saying what is missing.
 */
export function checkBrokerSecurity(options: Pick<ClientOptions, 'url' | 'username' | 'password' | 'insecure'>): void {
  let u: URL;
  try {
    u = new URL(options.url);
  } catch {
    throw new InsecureBrokerError(`broker URL "${options.url}" is not a URL (expected e.g. mqtt://127.0.0.1:1883 or mqtts://host:8883)`);
  }
  const known = ['mqtt:', 'mqtts:', 'ws:', 'wss:', 'tcp:', 'ssl:', 'tls:'];
  if (!known.includes(u.protocol)) throw new InsecureBrokerError(`broker URL scheme ${u.protocol} is not one of ${known.join(' ')}`);
  if (isLoopbackHost(u.hostname) || options.insecure) return;
  const tls = ['mqtts:', 'wss:', 'ssl:', 'tls:'].includes(u.protocol);
  const creds = !!(options.username ?? (u.username || undefined)) && !!(options.password ?? (u.password || undefined));
  const missing = [!tls && 'TLS (use mqtts:// or wss://)', !creds && 'credentials (--username/--password or EMBODY_MQTT_USERNAME/PASSWORD)'].filter(Boolean);
  if (missing.length) {
    throw new InsecureBrokerError(`refusing non-loopback broker ${u.host} without ${missing.join(' and ')}; pass --insecure to override`);
  }
}

/** Connect, after the security check. Resolves once the first CONNACK arrives. */
export async function connectClient(options: ClientOptions): Promise<MqttClient> {
  checkBrokerSecurity(options);
  const mqtt = await import('mqtt');
  const client = mqtt.connect(options.url, {
    clientId: options.clientId ?? `embody-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
    username: options.username,
    password: options.password,
    // MQTT 3.1.1: both Mosquitto and the embedded aedes speak it (aedes has no MQTT 5).
    protocolVersion: 4,
    clean: true,
    keepalive: 5,
    connectTimeout: 3000,
    reconnectPeriod: options.reconnectPeriod ?? 250,
    queueQoSZero: false,
    will: options.will,
    ...options.extra,
  });
  const noDelay = options.noDelay ?? true;
  // The socket is new on every reconnect, so set it on each connect.
  const applyNoDelay = () => {
    const s = client.stream as unknown as { setNoDelay?: (v: boolean) => void };
    s?.setNoDelay?.(noDelay);
  };
  client.on('connect', applyNoDelay);
  // mqtt.js keeps emitting 'error' on refused reconnects; an unhandled one would crash us.
  client.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    const onConnect = () => {
      cleanup();
      resolve();
    };
    const onError = (err: Error) => {
      cleanup();
      client.end(true);
      reject(new EmbodyError(`cannot connect to MQTT broker ${redact(options.url)}: ${err.message}`, { cause: err }));
    };
    const cleanup = () => {
      client.off('connect', onConnect);
      client.off('error', onError);
    };
    client.on('connect', onConnect);
    client.on('error', onError);
  });
  applyNoDelay();
  return client;
}

function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

export function endClient(client: MqttClient, force = false): Promise<void> {
  return new Promise((resolve) => client.end(force, {}, () => resolve()));
}

/** Credentials from the environment, so they never appear in `ps`. */
export function credentialsFromEnv(env = process.env): { username?: string; password?: string } {
  return { username: env.EMBODY_MQTT_USERNAME || undefined, password: env.EMBODY_MQTT_PASSWORD || undefined };
}
