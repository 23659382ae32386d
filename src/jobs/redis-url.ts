import { EmbodyError } from '../core/errors.js';
import { isLoopbackHost } from '../../hardware/client.js';

/**
 * The one parse of a `--queue` URL, shared by the security check and the Redis client, so the
 * host that is checked is the host that is dialled. As with MQTT (DESIGN.md), a Redis off this
 * machine needs a password (`redis://:pass@host`) or TLS (`rediss://`), unless `--insecure`.
 */
export class InsecureQueueError extends EmbodyError {}

export interface RedisTarget {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db: number;
  tls: boolean;
  /** The URL without its password, for logs and sweep.json. */
  display: string;
}

export function parseRedisUrl(url: string, opts: { insecure?: boolean } = {}): RedisTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new InsecureQueueError(`queue URL "${url}" is not a URL (expected redis://127.0.0.1:6379, redis://:password@host:6379 or rediss://host:6380)`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new InsecureQueueError(`queue URL scheme ${u.protocol} is not redis: or rediss:`);
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  const tls = u.protocol === 'rediss:';
  const password = u.password ? decodeURIComponent(u.password) : undefined;
  if (!isLoopbackHost(host) && !opts.insecure && !tls && !password) {
    throw new InsecureQueueError(`refusing non-loopback Redis ${u.host} without a password (redis://:pass@host) or TLS (rediss://); pass --insecure to override`);
  }
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw new InsecureQueueError(`queue URL database "${u.pathname.slice(1)}" is not a non-negative integer`);
  const display = `${u.protocol}//${u.username ? `${u.username}@` : ''}${u.host}${u.pathname.length > 1 ? u.pathname : ''}`;
  return { host, port: u.port ? Number(u.port) : 6379, username: u.username ? decodeURIComponent(u.username) : undefined, password, db, tls, display };
}

/** An ioredis client for the target; BullMQ needs maxRetriesPerRequest null on its connections. */
export async function connectRedis(target: RedisTarget): Promise<import('ioredis').Redis> {
  const { Redis } = await import('ioredis');
  return new Redis({
    host: target.host,
    port: target.port,
    username: target.username,
    password: target.password,
    db: target.db,
    tls: target.tls ? { servername: target.host } : undefined,
    maxRetriesPerRequest: null,
  });
}
