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

/** A broker URL, parsed once: the security check and mqtt.js both use exactly these fields. */
export interface BrokerAddress {
  protocol: 'mqtt' | 'mqtts' | 'ws' | 'wss' | 'tcp' | 'ssl' | 'tls';
  /** Host name or address, without IPv6 brackets. */
  hostname: string;
  port: number;
  /** WebSocket path ('/' by default); unused for TCP. */
  path: string;
  username?: string;
  password?: string;
  tls: boolean;
}

const DEFAULT_PORTS: Record<BrokerAddress['protocol'], number> = { mqtt: 1883, tcp: 1883, mqtts: 8883, ssl: 8883, tls: 8883, ws: 80, wss: 443 };

/**
 * Parse a broker URL with the WHATWG parser. A URL that other parsers could read another way
 * (a backslash, spaces or control characters anywhere) is refused, not guessed at: the host
 * we check must be the host we dial.
 */
export function parseBrokerUrl(url: string): BrokerAddress {
  if (/[\\\s\x00-\x1f\x7f]/.test(url)) throw new InsecureBrokerError(`broker URL "${redact(url)}" holds a backslash, space or control character; write it plainly (e.g. mqtt://127.0.0.1:1883)`);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new InsecureBrokerError(`broker URL "${redact(url)}" is not a URL (expected e.g. mqtt://127.0.0.1:1883 or mqtts://host:8883)`);
  }
  const protocol = u.protocol.replace(/:$/, '') as BrokerAddress['protocol'];
  if (!(protocol in DEFAULT_PORTS)) throw new InsecureBrokerError(`broker URL scheme ${u.protocol} is not one of ${Object.keys(DEFAULT_PORTS).map((p) => p + ':').join(' ')}`);
  if (!u.hostname) throw new InsecureBrokerError(`broker URL "${redact(url)}" has no host`);
  return {
    protocol,
    hostname: u.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: u.port ? Number(u.port) : DEFAULT_PORTS[protocol],
    path: u.pathname || '/',
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    tls: ['mqtts', 'wss', 'ssl', 'tls'].includes(protocol),
  };
}

/**
 * The rule from DESIGN.md: a broker off this machine needs TLS and credentials, unless the
 * user says `--insecure`. Throws an InsecureBrokerError saying what is missing. Returns the
 * parsed address, which is what connectClient dials.
 */
export function checkBrokerSecurity(options: Pick<ClientOptions, 'url' | 'username' | 'password' | 'insecure'>): BrokerAddress {
  const a = parseBrokerUrl(options.url);
  if (isLoopbackHost(a.hostname) || options.insecure) return a;
  const creds = !!(options.username ?? a.username) && !!(options.password ?? a.password);
  const missing = [!a.tls && 'TLS (use mqtts:// or wss://)', !creds && 'credentials (--username/--password or EMBODY_MQTT_USERNAME/PASSWORD)'].filter(Boolean);
  if (missing.length) {
    throw new InsecureBrokerError(`refusing non-loopback broker ${a.hostname}:${a.port} without ${missing.join(' and ')}; pass --insecure to override`);
  }
  return a;
}

/** Connect, after the security check. Resolves once the first CONNACK arrives. */
export async function connectClient(options: ClientOptions): Promise<MqttClient> {
  const a = checkBrokerSecurity(options);
  const mqtt = await import('mqtt');
  // mqtt.js gets the parsed fields, never the URL string: its own parser (url.parse) reads
  // some URLs differently from the WHATWG one the check used.
  const ws = a.protocol === 'ws' || a.protocol === 'wss';
  const client = mqtt.connect({
    protocol: a.protocol === 'tls' ? 'ssl' : a.protocol,
    hostname: ws && a.hostname.includes(':') ? `[${a.hostname}]` : a.hostname,
    host: a.hostname,
    port: a.port,
    ...(ws ? { path: a.path } : {}),
    clientId: options.clientId ?? `embody-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
    username: options.username ?? a.username,
    password: options.password ?? a.password,
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
    // A broker that refuses before CONNACK (a WebSocket upgrade answered 403, a TLS failure)
    // closes without an error: say so rather than retry forever.
    const onClose = () => onError(new Error('connection closed before the broker accepted it (refused origin, credentials or protocol?)'));
    const cleanup = () => {
      client.off('connect', onConnect);
      client.off('error', onError);
      client.off('close', onClose);
    };
    client.on('connect', onConnect);
    client.on('error', onError);
    client.on('close', onClose);
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
