// Replay mode: an episode recording (runs/<id>/episodes/<n>.mcap, decoded by the server)
// with play/pause, speed and a scrub bar. Frames go through the same player as live ones.
import { fromJsonFrame } from './frame-codec.js';

const $ = (id) => document.getElementById(id);

export async function startReplay(player, { onStatus, params }) {
  const bar = $('replay-bar');
  bar.hidden = false;
  const runSel = $('replay-run');
  const epSel = $('replay-episode');
  const playBtn = $('replay-play');
  const speedSel = $('replay-speed');
  const scrub = $('replay-scrub');
  const pos = $('replay-pos');
  const state = { frames: [], index: 0, playing: false, playTime: 0, loaded: null };

  const runs = (await (await fetch('/api/runs')).json()).filter((r) => r.episodes.length > 0);
  if (!runs.length) {
    onStatus('replay: no run with recorded episodes (embody run ... --record)');
    return state;
  }
  runSel.innerHTML = runs.map((r) => `<option value="${r.id}">${r.id}</option>`).join('');
  const fillEpisodes = () => {
    const run = runs.find((r) => r.id === runSel.value);
    epSel.innerHTML = run.episodes.map((e) => `<option value="${e}">${e}</option>`).join('');
  };
  runSel.value = runs.some((r) => r.id === params.get('run')) ? params.get('run') : runs[0].id;
  fillEpisodes();
  if (params.get('episode')) epSel.value = params.get('episode');

  function seek(k) {
    const frames = state.frames;
    if (!frames.length) return;
    k = Math.max(0, Math.min(frames.length - 1, k | 0));
    // Forward by one or more: feed the frames in between, so the trail stays whole.
    // Backward: rebuild the overlays from the start.
    let from = state.index + 1;
    if (k < state.index || state.index < 0) {
      player.resetOverlay();
      from = 0;
    }
    for (let i = from; i <= k; i++) player.showFrame(frames[i]);
    state.index = k;
    state.playTime = frames[k].t;
    scrub.value = String(k);
    pos.textContent = `${frames[k].t.toFixed(1)} s  ${k + 1}/${frames.length}`;
  }
  state.seek = seek;

  async function load() {
    const url = `/api/runs/${encodeURIComponent(runSel.value)}/episodes/${encodeURIComponent(epSel.value)}`;
    onStatus(`replay: loading ${runSel.value}/${epSel.value}`);
    const ep = await (await fetch(url)).json();
    player.setScene(ep.scene);
    state.frames = ep.frames.map(fromJsonFrame);
    state.index = -1;
    state.loaded = `${runSel.value}/${epSel.value}`;
    scrub.max = String(Math.max(0, state.frames.length - 1));
    seek(0);
    onStatus(`replay: ${state.loaded} (${state.frames.length} frames)`);
  }

  runSel.onchange = () => {
    fillEpisodes();
    load();
  };
  epSel.onchange = load;
  scrub.oninput = () => {
    state.playing = false;
    playBtn.textContent = 'play';
    seek(Number(scrub.value));
  };
  playBtn.onclick = () => {
    state.playing = !state.playing;
    if (state.playing && state.index >= state.frames.length - 1) seek(0);
    playBtn.textContent = state.playing ? 'pause' : 'play';
  };

  // Keys: space plays/pauses, arrows step one frame.
  window.addEventListener('keydown', (e) => {
    if (e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement) return; // their own keys
    if (e.code === 'Space') {
      e.preventDefault();
      playBtn.click();
    } else if (e.code === 'ArrowRight' || e.code === 'ArrowLeft') {
      e.preventDefault();
      state.playing = false;
      playBtn.textContent = 'play';
      seek(state.index + (e.code === 'ArrowRight' ? 1 : -1));
    }
  });

  let prev = performance.now();
  function tick(now) {
    const dt = (now - prev) / 1000;
    prev = now;
    if (state.playing && state.frames.length) {
      state.playTime += dt * Number(speedSel.value);
      let k = state.index;
      while (k + 1 < state.frames.length && state.frames[k + 1].t <= state.playTime) k++;
      if (k !== state.index) seek(k);
      if (k >= state.frames.length - 1) {
        state.playing = false;
        playBtn.textContent = 'play';
      }
    }
    requestAnimationFrame(tick);
  }
  requestAnimationFrame(tick);
  await load();
  if (params.get('play') === '1') playBtn.click();
  return state;
}
