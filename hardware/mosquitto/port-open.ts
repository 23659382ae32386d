import { createConnection } from 'node:net';

/** Whether something accepts TCP connections on 127.0.0.1:`port` (a broker already running). */
export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
