// The HUD: time, episode, reward, return, battery and the task's figures.
const LABELS = {
  batteryPct: ['battery', (v) => `${v.toFixed(1)} %`],
  mbitCollected: ['collected', (v) => `${v.toFixed(1)} Mbit`],
  fractionCollected: ['fraction', (v) => `${(100 * v).toFixed(1)} %`],
  efficiencyBitPerJ: ['efficiency', (v) => `${(v / 1000).toFixed(1)} kbit/J`],
  speed: ['speed', (v) => `${v.toFixed(1)} m/s`],
  altitude: ['altitude', (v) => `${v.toFixed(1)} m`],
};

const fmt = (v) => (Math.abs(v) >= 1000 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(2) : v.toFixed(2));

export function formatHud(desc, frame, overlay, fps, scale = 1) {
  const lines = [
    `${desc?.scene ?? ''}  (${desc?.task ?? ''})`,
    `time        ${frame.t.toFixed(1)} s   ep ${frame.episode}`,
    `reward      ${fmt(frame.reward)}`,
    `return      ${fmt(frame.return)}`,
  ];
  for (const [k, v] of Object.entries(frame.hud ?? {})) {
    if (typeof v !== 'number') continue;
    const [label, f] = LABELS[k] ?? [k, fmt];
    lines.push(`${label.padEnd(11)} ${f(v)}`);
  }
  if (overlay?.hudLines) lines.push(...overlay.hudLines(frame));
  lines.push(`fps         ${fps.toFixed(0)}${scale < 1 ? `  (render ${Math.round(scale * 100)} %)` : ''}`);
  return lines.join('\n');
}
