// Runs mode: list the run directories and plot their metrics.jsonl curves with uPlot,
// several runs on one chart.
import uPlot from 'uplot';

const $ = (id) => document.getElementById(id);
const PALETTE = ['#4a90d9', '#e8743b', '#19a979', '#ed4a7b', '#945ecf', '#13a4b4', '#525df4', '#bf399e', '#6c8893', '#ee6868'];
const SKIP = new Set(['step', 'wallTime', 'time']);

export async function startRuns({ onStatus, params }) {
  $('runs').hidden = false;
  $('view').hidden = true;
  $('hud').hidden = true;
  $('view-buttons').hidden = true;
  const state = { chart: null, runs: [], metric: null, series: [] };
  const runs = (await (await fetch('/api/runs')).json()).filter((r) => r.metrics);
  state.runs = runs;
  if (!runs.length) {
    onStatus('runs: no run directories with metrics.jsonl');
    return state;
  }
  const wanted = params.get('runs')?.split(',') ?? runs.slice(0, 4).map((r) => r.id);
  $('runs-list').innerHTML = runs
    .map(
      (r, i) =>
        `<label title="${r.id}"><input type="checkbox" value="${r.id}" ${wanted.includes(r.id) ? 'checked' : ''}/> ` +
        `<span style="color:${PALETTE[i % PALETTE.length]}">■</span> ${r.id}` +
        (r.episodes.length ? ` <a href="?mode=replay&run=${encodeURIComponent(r.id)}" title="replay its episodes">▶</a>` : '') +
        `</label>`,
    )
    .join('');
  const cache = new Map();
  const metricsOf = async (id) => {
    if (!cache.has(id)) cache.set(id, await (await fetch(`/api/runs/${encodeURIComponent(id)}/metrics`)).json());
    return cache.get(id);
  };

  async function draw() {
    const chosen = [...$('runs-list').querySelectorAll('input:checked')].map((i) => i.value);
    const rows = await Promise.all(chosen.map(metricsOf));
    // The metric list: every numeric figure any chosen run logged.
    const keys = new Set();
    rows.flat().forEach((row) => Object.entries(row).forEach(([k, v]) => typeof v === 'number' && !SKIP.has(k) && keys.add(k)));
    const sel = $('runs-metric');
    const list = [...keys].sort();
    const current = state.metric ?? params.get('metric');
    const metric = list.includes(current) ? current : list.find((k) => /return/i.test(k)) ?? list.find((k) => /reward/i.test(k)) ?? list[0];
    sel.innerHTML = list.map((k) => `<option ${k === metric ? 'selected' : ''}>${k}</option>`).join('');
    state.metric = metric;
    const xKey = $('runs-x').value;
    // One [x, y] table per run, then uPlot.join aligns them on a shared x axis.
    const tables = rows.map((r) => {
      const pts = r.filter((row) => typeof row[metric] === 'number' && typeof row[xKey] === 'number').map((row) => [row[xKey], row[metric]]);
      pts.sort((a, b) => a[0] - b[0]);
      const xs = [];
      const ys = [];
      for (const [x, y] of pts) {
        if (xs.length && xs[xs.length - 1] === x) ys[ys.length - 1] = y;
        else (xs.push(x), ys.push(y));
      }
      return [xs, ys];
    });
    const usable = tables.map((t, i) => [t, chosen[i]]).filter(([t]) => t[0].length > 0);
    state.series = usable.map(([t, id]) => ({ id, points: t[0].length }));
    state.chart?.destroy();
    state.chart = null;
    if (!usable.length) {
      onStatus(`runs: nothing to plot for ${metric}`);
      return;
    }
    const data = usable.length === 1 ? usable[0][0] : uPlot.join(usable.map(([t]) => t));
    const box = $('runs-chart');
    state.chart = new uPlot(
      {
        title: metric,
        width: Math.max(300, box.clientWidth - 20),
        height: Math.max(200, box.clientHeight - 60),
        scales: { x: { time: false } },
        axes: [{ label: xKey }, { label: metric }],
        series: [
          { label: xKey },
          ...usable.map(([, id]) => ({ label: id, stroke: PALETTE[runs.findIndex((r) => r.id === id) % PALETTE.length], width: 2, spanGaps: true })),
        ],
      },
      data,
      box,
    );
    onStatus(`runs: ${usable.length} run(s), ${metric}`);
  }
  $('runs-list').onchange = draw;
  $('runs-metric').onchange = () => {
    state.metric = $('runs-metric').value;
    draw();
  };
  $('runs-x').onchange = draw;
  await draw();
  return state;
}
