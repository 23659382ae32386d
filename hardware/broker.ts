import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { TOPIC_ROOT } from './protocol.js';

/**
 * The embedded broker: aedes in-process on loopback, used when no `--broker` is given
 * (demos, the README's main job, tests). It can enforce the same ACL as the shipped
 * Mosquitto config, so the tests check one rule set against both brokers.
 */

export interface BrokerUser {
  password: string;
  /** `robot`: its own topics only (username = robot id). `bridge`: the ground station. */
  role: 'robot' | 'bridge';
}

export interface BrokerOptions {
  /** Default 127.0.0.1. The embedded broker is for loopback; bind elsewhere at your own risk. */
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Also serve MQTT over WebSocket on this port (0 = free port). */
  wsPort?: number;
  /** When given, clients must log in, and the ACL below applies. */
  users?: Record<string, BrokerUser>;
}

export interface EmbeddedBroker {
  url: string;
  port: number;
  wsUrl?: string;
  close(): Promise<void>;
}

const ROBOT_WRITE = ['state', 'status', 'events', 'policy/ack'];
const ROBOT_READ = ['cmd', 'policy', 'estop'];
const BRIDGE_WRITE = ['cmd', 'policy', 'estop', 'events'];

/** The ACL of hardware/mosquitto/acl, as a function: may `user` write/read `topic`? */
export function aclAllows(user: { name: string; role: 'robot' | 'bridge' }, access: 'write' | 'read', topic: string): boolean {
  const prefix = `${TOPIC_ROOT}/`;
  if (!topic.startsWith(prefix)) return false;
  const rest = topic.slice(prefix.length);
  const slash = rest.indexOf('/');
  if (slash < 0) return false;
  const id = rest.slice(0, slash);
  const channel = rest.slice(slash + 1);
  if (user.role === 'robot') {
    if (id !== user.name) return false;
    return (access === 'write' ? ROBOT_WRITE : ROBOT_READ).includes(channel);
  }
  if (id === '#') return access === 'read';
  return access === 'read' ? true : BRIDGE_WRITE.includes(channel);
}

export async function startBroker(options: BrokerOptions = {}): Promise<EmbeddedBroker> {
  const { Aedes } = await import('aedes');
  const host = options.host ?? '127.0.0.1';
  const users = options.users;
  const who = new WeakMap<object, { name: string; role: 'robot' | 'bridge' }>();
  const broker = await Aedes.createBroker(
    users
      ? {
          authenticate: (client, username, password, done) => {
            const u = username ? users[username] : undefined;
            if (u && password && password.toString() === u.password) {
              who.set(client, { name: username!, role: u.role });
              return done(null, true);
            }
            const err = Object.assign(new Error('bad username or password'), { returnCode: 4 as const });
            done(err as any, false);
          },
          authorizePublish: (client, packet, cb) => {
            const u = client ? who.get(client) : undefined;
            if (!client) return cb(null);
            cb(u && aclAllows(u, 'write', packet.topic) ? null : new Error('not authorised'));
          },
          authorizeSubscribe: (client, sub, cb) => {
            const u = who.get(client);
            cb(null, u && aclAllows(u, 'read', sub.topic) ? sub : null);
          },
        }
      : {},
  );
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    broker.handle(socket);
  });
  await listen(server, options.port ?? 0, host);
  const port = (server.address() as AddressInfo).port;

  let http: HttpServer | undefined;
  let wsUrl: string | undefined;
  let wss: import('ws').WebSocketServer | undefined;
  if (options.wsPort !== undefined) {
    const { WebSocketServer, createWebSocketStream } = await import('ws');
    http = createHttpServer();
    wss = new WebSocketServer({ server: http });
    wss.on('connection', (ws, req) => broker.handle(createWebSocketStream(ws) as any, req));
    await listen(http, options.wsPort, host);
    wsUrl = `ws://${host}:${(http.address() as AddressInfo).port}`;
  }

  return {
    url: `mqtt://${host}:${port}`,
    port,
    wsUrl,
    async close() {
      for (const s of sockets) s.destroy();
      wss?.clients.forEach((c) => c.terminate());
      await Promise.all([
        new Promise<void>((r) => server.close(() => r())),
        http ? new Promise<void>((r) => http!.close(() => r())) : Promise.resolve(),
        new Promise<void>((r) => broker.close(() => r())),
      ]);
    },
  };
}

function listen(server: Server | HttpServer, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
