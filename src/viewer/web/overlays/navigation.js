// Navigation (sim/navigation + controllers/planning): named places and goals as markers, the
// planned path (cyan), the executed path (yellow), the current waypoint, lidar hits, and
// critic events as coloured pins (orange: corrective node, red: replan, violet: turn, grey: no path).
// Frame overlay fields: goals, goalIndex, plannedPath, executedPath, waypoint, events, lidarHits.
const MAX_PATH = 4000;
const MAX_PINS = 64;
const EVENT_COLORS = { correct: 0xff9f1a, replan: 0xff3b3b, turn: 0xb36bff, 'no-path': 0x888888 };

function polyline(THREE, group, color, z) {
  const pos = new Float32Array(3 * MAX_PATH);
  const geom = new THREE.BufferGeometry();
  geom.setAttribute('position', new THREE.BufferAttribute(pos, 3));
  geom.setDrawRange(0, 0);
  const line = new THREE.Line(geom, new THREE.LineBasicMaterial({ color }));
  line.frustumCulled = false;
  group.add(line);
  return {
    set(points) {
      const n = Math.min(points?.length ?? 0, MAX_PATH);
      for (let k = 0; k < n; k++) pos.set([points[k][0], points[k][1], z], 3 * k);
      geom.attributes.position.needsUpdate = true;
      geom.setDrawRange(0, n);
    },
  };
}

export function create(THREE, group, desc) {
  const places = desc.overlay?.places ?? [];
  const goalRadius = desc.overlay?.goalRadius ?? 0.3;
  // Places: small white discs.
  const placeGeom = new THREE.CircleGeometry(0.08, 16);
  const placeMat = new THREE.MeshBasicMaterial({ color: 0xffffff, transparent: true, opacity: 0.6 });
  for (const p of places) {
    const m = new THREE.Mesh(placeGeom, placeMat);
    m.position.set(p.position[0], p.position[1], 0.01);
    group.add(m);
  }
  // Goals: rings of the goal radius; the current one green, later ones blue, reached ones grey.
  const ringGeom = new THREE.RingGeometry(goalRadius * 0.85, goalRadius, 32);
  let rings = [];
  const planned = polyline(THREE, group, 0x33d6ff, 0.03);
  const executed = polyline(THREE, group, 0xffcc33, 0.04);
  const wp = new THREE.Mesh(new THREE.SphereGeometry(0.06, 12, 8), new THREE.MeshBasicMaterial({ color: 0x33d6ff }));
  wp.visible = false;
  group.add(wp);
  // Lidar hits as points.
  const hitPos = new Float32Array(3 * 256);
  const hitGeom = new THREE.BufferGeometry();
  hitGeom.setAttribute('position', new THREE.BufferAttribute(hitPos, 3));
  hitGeom.setDrawRange(0, 0);
  const hits = new THREE.Points(hitGeom, new THREE.PointsMaterial({ color: 0xff4fd8, size: 0.06 }));
  hits.frustumCulled = false;
  group.add(hits);
  // Critic events: pins at the pose where each decision was taken.
  const pinGeom = new THREE.ConeGeometry(0.06, 0.25, 8).rotateX(-Math.PI / 2).translate(0, 0, 0.125);
  const pins = [];
  let lastEvents = '';

  function setGoals(goals, index) {
    if (rings.length !== goals.length) {
      rings.forEach((r) => group.remove(r));
      rings = goals.map((g) => {
        const m = new THREE.Mesh(ringGeom, new THREE.MeshBasicMaterial({ color: 0x4fa3ff, side: THREE.DoubleSide }));
        m.position.set(g[0], g[1], 0.02);
        group.add(m);
        return m;
      });
    }
    goals.forEach((g, k) => {
      rings[k].position.set(g[0], g[1], 0.02);
      rings[k].material.color.setHex(k < index ? 0x777777 : k === index ? 0x3dff7a : 0x4fa3ff);
    });
  }

  function setEvents(events) {
    const key = events.map((e) => `${e.kind}@${e.t}`).join(',');
    if (key === lastEvents) return;
    lastEvents = key;
    pins.forEach((p) => group.remove(p));
    pins.length = 0;
    for (const e of events.slice(-MAX_PINS)) {
      if (!e.pose) continue;
      const m = new THREE.Mesh(pinGeom, new THREE.MeshBasicMaterial({ color: EVENT_COLORS[e.kind] ?? 0xffffff }));
      m.position.set(e.pose[0], e.pose[1], 0);
      group.add(m);
      pins.push(m);
    }
  }

  return {
    legend: [
      { label: 'goal: current', color: '#3dff7a', shape: 'ring' },
      { label: 'goal: ahead', color: '#4fa3ff', shape: 'ring' },
      { label: 'goal: reached', color: '#777777', shape: 'ring' },
      { label: 'planned path', color: '#33d6ff', shape: 'line' },
      { label: 'executed path', color: '#ffcc33', shape: 'line' },
      { label: 'lidar hits', color: '#ff4fd8', shape: 'dot' },
      { label: 'critic: corrective node / replan / turn', color: '#ff9f1a', shape: 'pin' },
      { label: 'named place', color: '#ffffff', shape: 'dot' },
    ],
    reset() {
      planned.set([]);
      executed.set([]);
      setEvents([]);
      wp.visible = false;
      hitGeom.setDrawRange(0, 0);
    },
    frame(frame) {
      const o = frame.overlay ?? {};
      setGoals(o.goals ?? [], o.goalIndex ?? 0);
      planned.set(o.plannedPath ?? []);
      executed.set(o.executedPath ?? []);
      if (o.waypoint) {
        wp.visible = true;
        wp.position.set(o.waypoint[0], o.waypoint[1], 0.1);
      } else wp.visible = false;
      const h = o.lidarHits ?? [];
      const n = Math.min(h.length, 256);
      for (let k = 0; k < n; k++) hitPos.set([h[k][0], h[k][1], 0.15], 3 * k);
      hitGeom.attributes.position.needsUpdate = true;
      hitGeom.setDrawRange(0, n);
      setEvents(o.events ?? []);
    },
    hudLines(frame) {
      const o = frame.overlay ?? {};
      const names = o.goalNames ?? [];
      const i = o.goalIndex ?? 0;
      const lines = [`goals  ${names.map((g, k) => (k < i ? `✓${g}` : k === i ? `[${g}]` : g)).join(' → ')}`];
      const last = (o.events ?? []).slice(-1)[0];
      if (last) lines.push(`critic  ${last.kind} at ${Number(last.t).toFixed(1)} s: ${last.reason ?? ''}`);
      return lines;
    },
  };
}
