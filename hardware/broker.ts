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
  /** `robot`: its own topics only (username = robot id). `bridge`: the ground station. `operator`: e-stop and monitoring. */
  role: Role;
}

export type Role = 'robot' | 'bridge' | 'operator';

export interface BrokerOptions {
  /** Default 127.0.0.1. The embedded broker is for loopback; bind elsewhere at your own risk. */
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Also serve MQTT over WebSocket on this port (0 = free port). */
  wsPort?: number;
  /** When given, clients must log in, and the ACL below applies. Required beyond loopback. */
  users?: Record<string, BrokerUser>;
  /**
   * Origins a browser may open the WebSocket from (exact, e.g. `https://dash.example`).
   * Default: pages served from this machine (http(s)://localhost, 127.x, [::1], any port).
   * A client that sends no Origin (not a browser) is not affected.
   */
  wsOrigins?: string[];
}

const LOOPBACK_ORIGIN = /^https?:\/\/(localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\])(:\d{1,5})?$/;
const LOOPBACK_HOST = /^(localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1)$/;

/** May a browser page from `origin` open the broker's WebSocket? */
export function originAllowed(origin: string | undefined, allowed?: string[]): boolean {
  if (origin === undefined) return true;
  return allowed ? allowed.includes(origin) : LOOPBACK_ORIGIN.test(origin);
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
const BRIDGE_READ = ['state', 'status', 'events', 'policy/ack', 'estop'];
const OPERATOR_WRITE = ['estop'];
const OPERATOR_READ = ['estop', 'status', 'events'];
/** An anonymous WebSocket client of an embedded broker without users: a read-only dashboard. */
const DASHBOARD_READ = ['state', 'status', 'events'];

/** The ACL of hardware/mosquitto/acl, as a function: may `user` write/read `topic`? */
export function aclAllows(user: { name: string; role: Role | 'dashboard' }, access: 'write' | 'read', topic: string): boolean {
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
  if (channel.includes('#') || id === '#') return false;
  const table = { bridge: [BRIDGE_READ, BRIDGE_WRITE], operator: [OPERATOR_READ, OPERATOR_WRITE], dashboard: [DASHBOARD_READ, []] }[user.role];
  return (access === 'read' ? table[0] : table[1]).includes(channel);
}

export async function startBroker(options: BrokerOptions = {}): Promise<EmbeddedBroker> {
  const { Aedes } = await import('aedes');
  const host = options.host ?? '127.0.0.1';
  const users = options.users;
  // Beyond loopback, anyone on the network could command the robots: log-ins are required.
  if (!users && !LOOPBACK_HOST.test(host)) throw new Error(`the embedded broker listens on ${host}, beyond loopback: give it users (credentials and the ACL), or bind 127.0.0.1`);
  const who = new WeakMap<object, { name: string; role: Role | 'dashboard' }>();
  /** Connections that came in over the WebSocket listener. */
  const wsConns = new WeakSet<object>();
  // Who a client is for the ACL: its log-in; without users, a WebSocket client is a read-only
  // dashboard and a TCP client on loopback may do anything (the demo set-up).
  const roleOf = (client: { conn?: object }) => who.get(client) ?? (client.conn && wsConns.has(client.conn) ? { name: '', role: 'dashboard' as const } : null);
  const broker = await Aedes.createBroker({
    ...(users
      ? {
          authenticate: (client, username, password, done) => {
            const u = username && Object.hasOwn(users, username) ? users[username] : undefined;
            if (u && password && password.toString() === u.password) {
              who.set(client, { name: username!, role: u.role });
              return done(null, true);
            }
            const err = Object.assign(new Error('bad username or password'), { returnCode: 4 as const });
            done(err as any, false);
          },
        }
      : {}),
    authorizePublish: (client, packet, cb) => {
      if (!client) return cb(null);
      const u = roleOf(client);
      if (!u && !users) return cb(null);
      cb(u && aclAllows(u, 'write', packet.topic) ? null : new Error('not authorised'));
    },
    authorizeSubscribe: (client, sub, cb) => {
      const u = roleOf(client);
      if (!u && !users) return cb(null, sub);
      cb(null, u && aclAllows(u, 'read', sub.topic) ? sub : null);
    },
  });
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
    // A page from another origin must not drive robots through the browser of whoever opens it.
    wss = new WebSocketServer({ server: http, verifyClient: (info: { origin?: string; req: { headers: Record<string, unknown> } }) => originAllowed(info.req.headers.origin as string | undefined, options.wsOrigins) });
    wss.on('connection', (ws, req) => {
      const stream = createWebSocketStream(ws);
      wsConns.add(stream);
      broker.handle(stream as any, req);
    });
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
