import type { IncomingMessage } from 'node:http';

/**
 * Who may talk to the viewer server. A browser sends a `Host` header with the name it
 * resolved, and an `Origin` header with the page that opened a WebSocket:
 * - Host must be localhost, an IP address, or a name in `allowedHosts`: a DNS-rebinding
 *   page (evil.example resolving to 127.0.0.1) sends Host evil.example and is refused.
 * - Origin, when present, must be the viewer itself (same host and port) or in
 *   `allowedOrigins`: a page from another site cannot inject scenes or read the stream.
 *   Tools that are not browsers (a run's --view publisher) send no Origin.
 */
export interface HostCheckOptions {
  allowedHosts?: string[];
  allowedOrigins?: string[];
}

const IPV4 = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/** "name:port" or "[v6]:port" → the name, lower-cased, without brackets. */
function hostName(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']'));
  const i = h.lastIndexOf(':');
  return i >= 0 ? h.slice(0, i) : h;
}

export function hostAllowed(host: string | undefined, options: HostCheckOptions = {}): boolean {
  if (!host) return false;
  const name = hostName(host);
  if (name === 'localhost' || IPV4.test(name) || name.includes(':')) return true;
  return (options.allowedHosts ?? []).map((h) => h.toLowerCase()).includes(name);
}

export function originAllowed(origin: string | undefined, host: string | undefined, options: HostCheckOptions = {}): boolean {
  if (origin === undefined) return true;
  if ((options.allowedOrigins ?? []).includes(origin)) return true;
  let u: URL;
  try {
    u = new URL(origin);
  } catch {
    return false;
  }
  return (u.protocol === 'http:' || u.protocol === 'https:') && !!host && u.host === host.toLowerCase();
}

/** Why a request is refused (403), or null. */
export function refusal(req: IncomingMessage, options: HostCheckOptions = {}): string | null {
  if (!hostAllowed(req.headers.host, options)) return `Host ${String(req.headers.host ?? '(none)').slice(0, 100)} is not allowed (use localhost or an IP address, or add it with --allowed-host)`;
  if (!originAllowed(req.headers.origin, req.headers.host, options)) return `Origin ${String(req.headers.origin).slice(0, 100)} is not allowed`;
  return null;
}
