// Runs mode: learning curves of the run directories, as `embody plot` draws them. One task
// (scene) per chart; runs of the same controller on it are seeds of one curve, drawn as the
// mean with a ±1 std band; training and evaluation figures apart; TensorBoard's smoothing.
import uPlot from 'uplot';

const $ = (id) => document.getElementById(id);
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#13a4b4', '#bf399e'];
/** Bookkeeping, not metrics: counters, clocks, identifiers. */
const BOOKKEEPING = /^(step|steps|envSteps|env_steps|seed|episode|episodes|iteration|iterations|updates|epoch|kind|time|t|wall|wallTime|wallS|wallSeconds|elapsed|elapsedS|timestamp|createdAt)$/i;

/** A metrics.jsonl row's split: `kind: "eval"` (embody train) or an `eval/` key prefix. */
const splitOf = (row, key) => (row.kind === 'eval' || key.startsWith('eval/') ? 'eval' : 'train');
const bare = (key) => key.replace(/^(eval|train)\//, '');

/** TensorBoard's smoothing: an exponential moving average, debiased for its start (weight w in [0, 1)). */
export function smooth(ys, w) {
  if (!(w > 0)) return ys.slice();
  let last = 0;
  let n = 0;
  return ys.map((y) => {
    if (!Number.isFinite(y)) return y;
    last = last * w + (1 - w) * y;
    n++;
    return last / (1 - w ** n);
  });
}

/** Mean and sample std across the runs (seeds) of a group, at the steps every run has. */
function meanStd(series) {
  const maps = series.map((s) => new Map(s.xs.map((x, i) => [x, s.ys[i]])));
  const xs = series[0].xs.filter((x) => maps.every((m) => m.has(x)));
  const mean = [];
  const std = [];
  for (const x of xs) {
    const v = maps.map((m) => m.get(x));
    const m = v.reduce((a, b) => a + b, 0) / v.length;
    mean.push(m);
    std.push(v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1)) : 0);
  }
  return { xs, mean, std };
}

export async function startRuns({ onStatus, params }) {
  $('runs').hidden = false;
  $('view').hidden = true;
  $('hud').hidden = true;
  $('view-buttons').hidden = true;
  const state = { chart: null, runs: [], task: null, split: null, metric: null, metrics: [], groups: [], smoothing: 0 };
  const runs = (await (await fetch('/api/runs')).json()).filter((r) => r.metrics);
  state.runs = runs;
  if (!runs.length) {
    onStatus('runs: no run directories with metrics.jsonl');
    return state;
  }
  const taskOf = (r) => r.scene ?? 'unknown';
  const tasks = [...new Set(runs.map(taskOf))];
  const taskSel = $('runs-task');
  taskSel.innerHTML = tasks.map((t) => `<option value="${t}">${t} (${runs.filter((r) => taskOf(r) === t).length})</option>`).join('');
  taskSel.value = tasks.includes(params.get('task')) ? params.get('task') : taskOf(runs[0]);
  if (params.get('split')) $('runs-split').value = params.get('split');
  if (params.get('smooth')) $('runs-smooth').value = params.get('smooth');
  const cache = new Map();
  const metricsOf = async (id) => {
    if (!cache.has(id)) cache.set(id, await (await fetch(`/api/runs/${encodeURIComponent(id)}/metrics`)).json());
    return cache.get(id);
  };

  function listRuns(task) {
    const ofTask = runs.filter((r) => taskOf(r) === task);
    const wanted = params.get('runs')?.split(',');
    $('runs-list').innerHTML = ofTask
      .map(
        (r) =>
          `<label title="${r.id}"><input type="checkbox" value="${r.id}" ${!wanted || wanted.includes(r.id) ? 'checked' : ''}/> ` +
          `${r.controller ?? '?'} · seed ${r.seed ?? '?'} <span class="run-id">${r.id}</span>` +
          (r.episodes.length ? ` <a href="?mode=replay&run=${encodeURIComponent(r.id)}" title="replay its episodes">▶</a>` : '') +
          `</label>`,
      )
      .join('');
  }

  async function draw() {
    const task = taskSel.value;
    const split = $('runs-split').value;
    const w = Number($('runs-smooth').value);
    $('runs-smooth-value').textContent = w.toFixed(2);
    Object.assign(state, { task, split, smoothing: w });
    const chosen = runs.filter((r) => taskOf(r) === task && [...$('runs-list').querySelectorAll('input:checked')].some((i) => i.value === r.id));
    const rows = await Promise.all(chosen.map((r) => metricsOf(r.id)));
    // The metric list: the split's numeric figures, without bookkeeping keys.
    const keys = new Set();
    rows.flat().forEach((row) => Object.entries(row).forEach(([k, v]) => typeof v === 'number' && splitOf(row, k) === split && !BOOKKEEPING.test(bare(k)) && keys.add(bare(k))));
    const list = [...keys].sort();
    state.metrics = list;
    const current = state.metric ?? params.get('metric');
    const metric = list.includes(current) ? current : list.find((k) => k === 'return') ?? list.find((k) => /return/i.test(k)) ?? list[0];
    $('runs-metric').innerHTML = list.map((k) => `<option ${k === metric ? 'selected' : ''}>${k}</option>`).join('');
    state.metric = metric;
    state.chart?.destroy();
    state.chart = null;
    state.groups = [];
    if (!metric) return onStatus(`runs: no ${split} metrics for ${task}`);
    // One series per run (x = step), then one curve per controller: mean ± std across its seeds.
    const byGroup = new Map();
    chosen.forEach((r, i) => {
      const pts = new Map();
      for (const row of rows[i]) {
        for (const [k, v] of Object.entries(row)) if (bare(k) === metric && typeof v === 'number' && splitOf(row, k) === split && typeof row.step === 'number') pts.set(row.step, v);
      }
      if (!pts.size) return;
      const xs = [...pts.keys()].sort((a, b) => a - b);
      const label = r.controller ?? r.id;
      byGroup.set(label, [...(byGroup.get(label) ?? []), { xs, ys: smooth(xs.map((x) => pts.get(x)), w) }]);
    });
    const groups = [...byGroup.entries()].map(([label, series]) => ({ label, runs: series.length, ...meanStd(series) })).filter((g) => g.xs.length);
    state.groups = groups.map((g) => ({ label: g.label, runs: g.runs, points: g.xs.length, maxStd: Math.max(0, ...g.std) }));
    if (!groups.length) return onStatus(`runs: nothing to plot for ${split} ${metric}`);
    // uPlot wants one shared x: join the curves' mean, mean+std and mean−std on it.
    const tables = groups.flatMap((g) => [
      [g.xs, g.mean],
      [g.xs, g.mean.map((m, i) => m + g.std[i])],
      [g.xs, g.mean.map((m, i) => m - g.std[i])],
    ]);
    const data = uPlot.join(tables);
    const series = [{ label: 'step' }];
    const bands = [];
    groups.forEach((g, k) => {
      const color = PALETTE[k % PALETTE.length];
      series.push(
        { label: `${g.label} (${g.runs} run${g.runs > 1 ? 's' : ''})`, stroke: color, width: 2, spanGaps: true },
        { label: `${g.label} +std`, stroke: 'transparent', spanGaps: true, points: { show: false } },
        { label: `${g.label} −std`, stroke: 'transparent', spanGaps: true, points: { show: false } },
      );
      bands.push({ series: [3 * k + 2, 3 * k + 3], fill: `${color}33` });
    });
    const box = $('runs-chart');
    state.chart = new uPlot(
      {
        title: `${task}: ${split} ${metric}${w > 0 ? ` (smoothed ${w.toFixed(2)})` : ''}, mean ± std across seeds`,
        width: Math.max(300, box.clientWidth - 20),
        height: Math.max(200, box.clientHeight - 80),
        scales: { x: { time: false } },
        axes: [{ label: 'step' }, { label: `${split} ${metric}` }],
        series,
        bands,
      },
      data,
      box,
    );
    onStatus(`runs: ${task}, ${groups.length} curve(s), ${split} ${metric}`);
  }
  taskSel.onchange = () => {
    listRuns(taskSel.value);
    state.metric = null;
    draw();
  };
  $('runs-list').onchange = draw;
  $('runs-split').onchange = () => {
    state.metric = null;
    draw();
  };
  $('runs-smooth').oninput = draw;
  $('runs-metric').onchange = () => {
    state.metric = $('runs-metric').value;
    draw();
  };
  listRuns(taskSel.value);
  await draw();
  state.draw = draw;
  return state;
}
