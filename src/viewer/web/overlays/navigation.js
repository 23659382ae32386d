// Navigation: planned path vs executed path, the goals (reached, current, ahead), the
// current waypoint and the lidar hits.
const Z = 0.03;

function polyline(THREE, group, color, max) {
  const pos = new Float32Array(3 * max);
  const geom = new THREE.BufferGeometry();
  geom.setAttribute('position', new THREE.BufferAttribute(pos, 3));
  geom.setDrawRange(0, 0);
  const line = new THREE.Line(geom, new THREE.LineBasicMaterial({ color }));
  line.frustumCulled = false;
  group.add(line);
  return {
    set(points, z = Z) {
      const n = Math.min(max, points?.length ?? 0);
      for (let i = 0; i < n; i++) pos.set([points[i][0], points[i][1], z], 3 * i);
      geom.attributes.position.needsUpdate = true;
      geom.setDrawRange(0, n);
    },
  };
}

export function create(THREE, group, desc) {
  const goalRadius = desc.overlay?.goalRadius ?? 0.3;
  const executed = polyline(THREE, group, 0xffcc33, 8192);
  const planned = polyline(THREE, group, 0x33d6ff, 4096);
  const ringGeom = new THREE.RingGeometry(goalRadius * 0.8, goalRadius, 32);
  const goalMeshes = [];
  const colours = { reached: new THREE.Color('#4fbf6a'), current: new THREE.Color('#ff8c33'), ahead: new THREE.Color('#8a94a6') };
  const waypoint = new THREE.Mesh(new THREE.SphereGeometry(0.08, 12, 8), new THREE.MeshBasicMaterial({ color: 0x33d6ff }));
  waypoint.visible = false;
  group.add(waypoint);
  const MAX_HITS = 512;
  const hitPos = new Float32Array(3 * MAX_HITS);
  const hitGeom = new THREE.BufferGeometry();
  hitGeom.setAttribute('position', new THREE.BufferAttribute(hitPos, 3));
  hitGeom.setDrawRange(0, 0);
  const hits = new THREE.Points(hitGeom, new THREE.PointsMaterial({ color: 0xff4d4d, size: 4, sizeAttenuation: false }));
  hits.frustumCulled = false;
  group.add(hits);

  function goals(list, index) {
    while (goalMeshes.length < list.length) {
      const m = new THREE.Mesh(ringGeom, new THREE.MeshBasicMaterial({ color: colours.ahead, side: THREE.DoubleSide }));
      group.add(m);
      goalMeshes.push(m);
    }
    goalMeshes.forEach((m, i) => {
      m.visible = i < list.length;
      if (!m.visible) return;
      m.position.set(list[i][0], list[i][1], Z);
      m.material.color.copy(i < index ? colours.reached : i === index ? colours.current : colours.ahead);
    });
  }

  return {
    reset() {
      executed.set([]);
      planned.set([]);
      goals([], 0);
      waypoint.visible = false;
      hitGeom.setDrawRange(0, 0);
    },
    frame(frame) {
      const o = frame.overlay ?? {};
      executed.set(o.executedPath);
      planned.set(o.plannedPath, Z + 0.01);
      goals(o.goals ?? [], o.goalIndex ?? 0);
      waypoint.visible = Array.isArray(o.waypoint);
      if (waypoint.visible) waypoint.position.set(o.waypoint[0], o.waypoint[1], 0.15);
      const n = Math.min(MAX_HITS, o.lidarHits?.length ?? 0);
      for (let i = 0; i < n; i++) hitPos.set([o.lidarHits[i][0], o.lidarHits[i][1], 0.2], 3 * i);
      hitGeom.attributes.position.needsUpdate = true;
      hitGeom.setDrawRange(0, n);
    },
    hudLines(frame) {
      const o = frame.overlay ?? {};
      const name = o.goalNames?.[o.goalIndex];
      return [`goal        ${name ?? (o.goalIndex >= (o.goals?.length ?? 0) ? 'all reached' : '–')}`];
    },
  };
}
