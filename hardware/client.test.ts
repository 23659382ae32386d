import { describe, expect, it } from 'vitest';
import { startBroker } from './broker.js';
import { checkBrokerSecurity, connectClient, endClient, InsecureBrokerError } from './client.js';

describe('the broker security rule', () => {
  it('allows loopback brokers as they are', () => {
    for (const url of ['mqtt://127.0.0.1:1883', 'mqtt://localhost', 'ws://[::1]:9001', 'mqtt://127.3.2.1']) expect(() => checkBrokerSecurity({ url })).not.toThrow();
  });
  it('refuses a remote broker without TLS or without credentials, and says which is missing', () => {
    expect(() => checkBrokerSecurity({ url: 'mqtt://10.0.0.5:1883', username: 'u', password: 'p' })).toThrow(/TLS/);
    expect(() => checkBrokerSecurity({ url: 'mqtts://broker.example:8883' })).toThrow(/credentials/);
    expect(() => checkBrokerSecurity({ url: 'mqtt://broker.example' })).toThrow(InsecureBrokerError);
  });
  it('accepts a remote broker with TLS and credentials, or with --insecure', () => {
    expect(() => checkBrokerSecurity({ url: 'mqtts://broker.example:8883', username: 'u', password: 'p' })).not.toThrow();
    expect(() => checkBrokerSecurity({ url: 'wss://u:p@broker.example/mqtt' })).not.toThrow();
    expect(() => checkBrokerSecurity({ url: 'mqtt://10.0.0.5:1883', insecure: true })).not.toThrow();
  });
  it('rejects a URL that is not a broker URL', () => {
    expect(() => checkBrokerSecurity({ url: 'http://127.0.0.1' })).toThrow(/scheme/);
    expect(() => checkBrokerSecurity({ url: 'nonsense' })).toThrow(/not a URL/);
  });
});

describe('the embedded broker', () => {
  it('serves MQTT over TCP and over WebSocket (a read-only dashboard without users) on loopback; our client has queueQoSZero off', async () => {
    const broker = await startBroker({ wsPort: 0 });
    try {
      expect(broker.url).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
      const a = await connectClient({ url: broker.url });
      const b = await connectClient({ url: broker.wsUrl! });
      const got: string[] = [];
      b.on('message', (_t, p) => got.push(p.toString()));
      await b.subscribeAsync('embody/v1/r1/state', { qos: 0 });
      await a.publishAsync('embody/v1/r1/state', 'hello', { qos: 0 });
      const end = Date.now() + 3000;
      while (!got.length && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
      expect(got).toEqual(['hello']);
      expect(a.options.queueQoSZero).toBe(false);
      await endClient(a);
      await endClient(b);
    } finally {
      await broker.close();
    }
  });
});
