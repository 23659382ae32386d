// Draws a stream of frames (live, replayed or from telemetry) into the 3D view: bodies,
// the task's overlay and the HUD. The same code serves every mode, since they share
// the frame format.
import { createView } from './scene.js';
import { overlayFor } from './overlays/index.js';
import { formatHud } from './hud.js';
import { createTimeSeries } from './timeseries.js';

/** The overlay's legend: one row per thing it draws, with its colour and shape. */
function drawLegend(el, overlay) {
  const rows = overlay?.legend ?? [];
  el.hidden = rows.length === 0;
  el.innerHTML = rows
    .map((r) => {
      const fill = r.to ? `linear-gradient(to top, ${r.to}, ${r.color})` : r.color;
      return `<div class="legend-row"><span class="swatch swatch-${r.shape}" style="background:${fill};border-color:${r.color}"></span>${r.label}</div>`;
    })
    .join('');
}

/**
 * `fixedScale` pins the render resolution (1 = full); otherwise it adapts: on a slow renderer
 * (software GL on a busy machine) it steps down to hold 30 fps, and back up when there is room.
 */
export function createPlayer(container, hudEl, { fixedScale = null, legendEl = null, timeSeriesEl = null } = {}) {
  const view = createView(container);
  const series = timeSeriesEl ? createTimeSeries(timeSeriesEl) : null;
  let scale = fixedScale ?? 1;
  view.setScale(scale);
  let overlay = null;
  let group = null;
  let episode = null;
  let last = null;
  let dirty = true;
  let fps = 0;
  let frames = 0;
  let fpsWindowStart = performance.now();
  let rendered = 0;

  const bodyPosition = (id) => view.bodyPosition(id);

  function setScene(desc) {
    if (group) view.scene.remove(group);
    view.build(desc);
    group = new view.THREE.Group();
    view.scene.add(group);
    overlay = overlayFor(desc.task).create(view.THREE, group, desc);
    if (legendEl) drawLegend(legendEl, overlay);
    series?.reset();
    episode = null;
    last = null;
    dirty = true;
  }

  /** Apply a frame: move bodies, advance the overlay. Rendering happens on the next animation frame. */
  function showFrame(frame) {
    if (!view.desc) return;
    if (frame.episode !== episode) {
      overlay?.reset();
      series?.reset();
      episode = frame.episode;
    }
    view.applyFrame(frame);
    overlay?.frame(frame, bodyPosition);
    series?.push(frame);
    last = frame;
    dirty = true;
  }

  function resetOverlay() {
    overlay?.reset();
    series?.reset();
    episode = null;
  }

  // Render every animation frame (orbiting needs it, and the fps figure measures it); the
  // HUD text changes only with a new frame or a new fps figure.
  function loop(now) {
    frames++;
    let hudDue = dirty;
    if (now - fpsWindowStart >= 1000) {
      fps = (frames * 1000) / (now - fpsWindowStart);
      frames = 0;
      fpsWindowStart = now;
      hudDue = true;
      if (fixedScale === null) {
        const next = fps < 28 ? Math.max(0.5, scale - 0.25) : fps > 55 ? Math.min(1, scale + 0.25) : scale;
        if (next !== scale) view.setScale((scale = next));
      }
    }
    if (hudDue && last && hudEl) hudEl.textContent = formatHud(view.desc, last, overlay, fps, scale);
    view.render();
    series?.tick(now);
    rendered++;
    dirty = false;
    requestAnimationFrame(loop);
  }
  requestAnimationFrame(loop);

  return {
    view,
    setScene,
    showFrame,
    resetOverlay,
    get fps() {
      return fps;
    },
    get scale() {
      return scale;
    },
    get rendered() {
      return rendered;
    },
    get lastFrame() {
      return last;
    },
    uavPosition: () => view.uavPosition(),
    series,
    get legend() {
      return (overlay?.legend ?? []).map((r) => r.label);
    },
  };
}
