// The time-series panel under the 3D view (live, replay, telemetry): the episode's return and
// one task figure of the HUD (battery, data collected, goals reached...) against sim time, with
// uPlot. The figure is chosen in the panel; its axis is on the right.
import uPlot from 'uplot';

const REDRAW_MS = 250;

export function createTimeSeries(panel) {
  panel.hidden = false;
  const select = document.createElement('select');
  select.id = 'timeseries-metric';
  select.title = 'task figure';
  const box = document.createElement('div');
  box.className = 'timeseries-chart';
  panel.replaceChildren(select, box);
  let t = [];
  let ret = [];
  let figures = {}; // HUD key → values, aligned with t
  let metric = null;
  let chart = null;
  let drawnAt = 0;
  let dirty = false;

  function rebuild() {
    chart?.destroy();
    const w = Math.max(300, panel.clientWidth - 150);
    const h = Math.max(90, panel.clientHeight - 16);
    chart = new uPlot(
      {
        width: w,
        height: h,
        legend: { show: false },
        scales: { x: { time: false }, y2: { auto: true } },
        axes: [{ stroke: '#9fb3c8', grid: { stroke: '#2c323d' } }, { stroke: '#9fb3c8', grid: { stroke: '#2c323d' }, label: 'return' }, { side: 1, scale: 'y2', stroke: '#e8a33a', grid: { show: false }, label: metric ?? '' }],
        series: [{ label: 't (s)' }, { label: 'return', stroke: '#4a90d9', width: 2 }, { label: metric ?? '–', stroke: '#e8a33a', width: 2, scale: 'y2' }],
      },
      data(),
      box,
    );
  }
  const data = () => [t, ret, metric ? figures[metric] ?? [] : t.map(() => null)];

  function setMetric(k) {
    metric = k;
    select.value = k;
    rebuild();
  }
  select.onchange = () => setMetric(select.value);

  return {
    reset() {
      t = [];
      ret = [];
      figures = {};
      dirty = true;
    },
    push(frame) {
      if (t.length && frame.t < t[t.length - 1]) this.reset();
      t.push(frame.t);
      ret.push(frame.return);
      const keys = Object.keys(frame.hud ?? {}).filter((k) => typeof frame.hud[k] === 'number');
      for (const k of keys) (figures[k] ??= Array(t.length - 1).fill(null)).push(frame.hud[k]);
      for (const k of Object.keys(figures)) if (figures[k].length < t.length) figures[k].push(null);
      if (keys.length && select.options.length !== keys.length) {
        select.innerHTML = keys.map((k) => `<option>${k}</option>`).join('');
        setMetric(keys.includes(metric) ? metric : keys[0]);
      }
      dirty = true;
    },
    /** Called every animation frame: redraws a few times a second at most. */
    tick(now) {
      if (!dirty || now - drawnAt < REDRAW_MS) return;
      if (!chart) rebuild();
      chart.setData(data());
      drawnAt = now;
      dirty = false;
    },
    get points() {
      return t.length;
    },
    get metric() {
      return metric;
    },
    get chart() {
      return chart;
    },
  };
}
