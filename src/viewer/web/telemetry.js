// Telemetry mode: subscribe to a robot's `state` (and `status`) over MQTT-over-WebSockets and
// draw it with the same player as simulations. Read-only: this page never publishes.
// URL: ?mode=telemetry&url=ws://host:port&robot=<id>&scene=<scene>[&user=&pass=]
import mqtt from 'mqtt';
import { overlayFor } from './overlays/index.js';

const $ = (id) => document.getElementById(id);
const TOPIC_ROOT = 'embody/v1';

export async function startTelemetry(player, { onStatus, params }) {
  $('telemetry-bar').hidden = false;
  $('pause').hidden = true;
  for (const [key, id] of [['url', 'telemetry-url'], ['robot', 'telemetry-robot'], ['scene', 'telemetry-scene']]) {
    if (params.get(key)) $(id).value = params.get(key);
  }
  const state = { messages: 0, rejected: 0, connected: false, lastStatus: null, client: null };

  async function connect() {
    state.client?.end(true);
    const url = $('telemetry-url').value;
    const robot = $('telemetry-robot').value;
    const sceneName = $('telemetry-scene').value;
    const res = await fetch(`/api/scenes/${encodeURIComponent(sceneName)}`);
    if (!res.ok) return onStatus(`telemetry: scene ${sceneName}: ${await res.text()}`);
    const desc = await res.json();
    player.setScene(desc);
    const toFrame = overlayFor(desc.task).fromState;
    if (!toFrame) return onStatus(`telemetry: no telemetry drawing for task ${desc.task}`);
    const client = mqtt.connect(url, {
      clientId: `embody-viewer-${Math.random().toString(16).slice(2, 10)}`,
      username: params.get('user') ?? undefined,
      password: params.get('pass') ?? undefined,
      reconnectPeriod: 2000,
      clean: true,
    });
    state.client = client;
    client.on('connect', () => {
      state.connected = true;
      client.subscribe([`${TOPIC_ROOT}/${robot}/state`, `${TOPIC_ROOT}/${robot}/status`], { qos: 0 });
      onStatus(`telemetry: ${robot} on ${url}`);
    });
    client.on('close', () => (state.connected = false));
    client.on('error', (err) => onStatus(`telemetry: ${err.message}`));
    const dec = new TextDecoder();
    client.on('message', (topic, payload) => {
      let env;
      try {
        env = JSON.parse(dec.decode(payload)); // JSON envelopes only (CBOR ones are skipped)
      } catch {
        state.rejected++;
        return;
      }
      if (env?.v !== 1 || env.robotId !== robot) return void state.rejected++;
      if (topic.endsWith('/status')) {
        state.lastStatus = env.payload;
        onStatus(`telemetry: ${robot} ${env.payload?.online ? 'online' : 'offline'}, ${env.payload?.mode ?? ''}`);
        return;
      }
      if (env.type !== 'state' || typeof env.payload?.state !== 'object') return void state.rejected++;
      const frame = toFrame(env.payload.state, desc);
      frame.episode = env.payload.episode?.index ?? 0;
      state.messages++;
      player.showFrame(frame);
    });
  }
  $('telemetry-connect').onclick = connect;
  if (params.get('url')) await connect();
  return state;
}
