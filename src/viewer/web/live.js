// Live mode: the scene once (JSON text message), then binary frames over /ws/live.
import { decodeFrame } from './frame-codec.js';

export function startLive(player, { onStatus, isPaused }) {
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws/live`;
  const stats = { framesReceived: 0, bytesReceived: 0, connected: false };
  const held = []; // frames that arrived while paused, shown on resume (bounded)
  let ws;

  function connect() {
    ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => {
      stats.connected = true;
      onStatus('live: connected, waiting for a run');
    };
    ws.onmessage = (ev) => {
      if (typeof ev.data === 'string') {
        const msg = JSON.parse(ev.data);
        if (msg.type === 'scene') {
          player.setScene(msg.scene);
          onStatus(`live: ${msg.scene.scene}`);
        } else if (msg.type === 'end') {
          onStatus(`live: episode ${msg.episode} ended`);
        }
        return;
      }
      stats.framesReceived++;
      stats.bytesReceived += ev.data.byteLength;
      const frame = decodeFrame(ev.data);
      if (isPaused()) {
        if (held.length < 100000) held.push(frame);
      } else player.showFrame(frame);
    };
    ws.onclose = () => {
      stats.connected = false;
      onStatus('live: disconnected, retrying');
      setTimeout(connect, 1000);
    };
  }
  connect();

  return {
    stats,
    resume() {
      for (const f of held.splice(0)) player.showFrame(f);
    },
  };
}
