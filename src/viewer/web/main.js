// The page: picks the mode from ?mode=live|replay|runs|telemetry and wires it up.
// `window.embody` exposes the page's state for the browser tests and the fps benchmark.
import { createPlayer } from './player.js';
import { startLive } from './live.js';
import { startReplay } from './replay.js';
import { startRuns } from './runs.js';

const params = new URLSearchParams(location.search);
const mode = params.get('mode') ?? 'live';
const $ = (id) => document.getElementById(id);
const onStatus = (s) => ($('status').textContent = s);
document.querySelectorAll('#tabs a').forEach((a) => a.classList.toggle('active', a.dataset.mode === mode));

const embody = { mode, ready: false };
window.embody = embody;

async function main() {
  if (mode === 'runs') {
    embody.runs = await startRuns({ onStatus, params });
    embody.ready = true;
    return;
  }
  const fixedScale = params.has('scale') ? Math.min(1, Math.max(0.25, Number(params.get('scale')) || 1)) : null;
  const player = createPlayer($('view'), $('hud'), { fixedScale, legendEl: $('legend'), timeSeriesEl: $('timeseries') });
  document.body.classList.add('with-timeseries', `mode-${mode}`);
  embody.player = player;
  embody.uavPosition = () => player.uavPosition();
  Object.defineProperty(embody, 'fps', { get: () => player.fps });
  Object.defineProperty(embody, 'renderScale', { get: () => player.scale });
  embody.capture = (w, h) => player.view.capture(w, h);
  let paused = false;
  let live = null;
  $('pause').onclick = () => {
    paused = !paused;
    $('pause').textContent = paused ? 'resume' : 'pause';
    if (!paused) live?.resume();
  };
  $('follow').onchange = (e) => player.view.setFollow(e.target.checked);
  if (params.get('follow') === '1') {
    $('follow').checked = true;
    player.view.setFollow(true);
  }
  if (mode === 'replay') {
    $('pause').hidden = true;
    embody.replay = await startReplay(player, { onStatus, params });
  } else if (mode === 'telemetry') {
    const { startTelemetry } = await import('./telemetry.js');
    embody.telemetry = await startTelemetry(player, { onStatus, params });
  } else {
    live = startLive(player, { onStatus, isPaused: () => paused });
    embody.live = live.stats;
  }
  embody.ready = true;
}

main().catch((err) => {
  onStatus(`error: ${err.message}`);
  embody.error = String(err);
  console.error(err);
});
