// UAV data collection: trail, devices as columns whose height is their remaining data,
// radio range rings, and the current allocation (a line UAV → device per resource block).
import * as trail from './trail.js';

const COLUMN_FULL = '#e8a33a';
const COLUMN_EMPTY = '#4fbf6a';

export function create(THREE, group, desc) {
  const devices = desc.overlay?.devices ?? [];
  // Column size from the workspace span, so a 200 m field and a 2 km one both read well.
  const [x0, y0, , x1, y1] = desc.bounds;
  const span = Math.max(x1 - x0, y1 - y0);
  const hMax = Math.max(5, 0.12 * span);
  const radius = Math.max(1, 0.018 * span);
  const uavBody = desc.bodies.find((b) => b.role === 'uav');
  const path = trail.create(THREE, group, { bodies: uavBody ? [uavBody] : desc.bodies });

  // Columns: unit-height cylinders scaled along z by the remaining fraction.
  const columnGeom = new THREE.CylinderGeometry(radius, radius, 1, 20).rotateX(Math.PI / 2).translate(0, 0, 0.5);
  const full = new THREE.Color(COLUMN_FULL);
  const empty = new THREE.Color(COLUMN_EMPTY);
  const columns = devices.map((d) => {
    const m = new THREE.Mesh(columnGeom, new THREE.MeshLambertMaterial({ color: COLUMN_FULL, transparent: true, opacity: 0.85 }));
    m.position.set(d.position[0], d.position[1], 0);
    m.scale.set(1, 1, hMax);
    group.add(m);
    return m;
  });

  // Range rings: one circle per device at its radio range.
  const ringMat = new THREE.LineBasicMaterial({ color: 0x4fa3ff, transparent: true, opacity: 0.55 });
  for (const d of devices) {
    if (!(d.rangeM > 0)) continue;
    const pts = [];
    for (let k = 0; k < 96; k++) {
      const a = (2 * Math.PI * k) / 96;
      pts.push(new THREE.Vector3(d.position[0] + d.rangeM * Math.cos(a), d.position[1] + d.rangeM * Math.sin(a), 0.1));
    }
    group.add(new THREE.LineLoop(new THREE.BufferGeometry().setFromPoints(pts), ringMat));
  }

  // Allocation: up to 64 segments UAV → device, redrawn each frame.
  const MAX_LINKS = 64;
  const linkPos = new Float32Array(6 * MAX_LINKS);
  const linkGeom = new THREE.BufferGeometry();
  linkGeom.setAttribute('position', new THREE.BufferAttribute(linkPos, 3));
  linkGeom.setDrawRange(0, 0);
  const links = new THREE.LineSegments(linkGeom, new THREE.LineBasicMaterial({ color: 0x3dff7a }));
  links.frustumCulled = false;
  group.add(links);

  return {
    legend: [
      { label: 'device: data left (column height)', color: COLUMN_FULL, to: COLUMN_EMPTY, shape: 'column' },
      { label: 'radio range', color: '#4fa3ff', shape: 'ring' },
      { label: 'allocation UAV → device', color: '#3dff7a', shape: 'line' },
      { label: 'UAV trail', color: '#ffcc33', shape: 'line' },
    ],
    reset() {
      path.reset();
      linkGeom.setDrawRange(0, 0);
      columns.forEach((c) => {
        c.scale.z = hMax;
        c.material.color.copy(full);
      });
    },
    frame(frame, bodyPosition) {
      path.frame(frame, bodyPosition);
      const remaining = frame.overlay?.remaining ?? [];
      columns.forEach((c, k) => {
        const r = Math.max(0, Math.min(1, remaining[k] ?? 1));
        c.scale.z = Math.max(0.02, r * hMax);
        c.material.color.copy(empty).lerp(full, r);
      });
      const p = uavBody && bodyPosition(uavBody.id);
      const alloc = frame.overlay?.allocation ?? [];
      let n = 0;
      if (p) {
        for (const k of alloc) {
          const d = devices[k];
          if (k < 0 || !d || n >= MAX_LINKS) continue;
          linkPos.set(p, 6 * n);
          linkPos.set([d.position[0], d.position[1], d.position[2] ?? 1], 6 * n + 3);
          n++;
        }
      }
      linkGeom.attributes.position.needsUpdate = true;
      linkGeom.setDrawRange(0, 2 * n);
    },
    hudLines(frame) {
      const alloc = frame.overlay?.allocation ?? [];
      const names = alloc.map((k) => (k >= 0 ? devices[k]?.name ?? `#${k}` : '–'));
      return [`allocation  ${names.join(', ')}`];
    },
  };
}

/** A UAV TaskModel state (MQTT telemetry, sim/uav/model.ts UavState) as a Frame. */
export function fromState(s, desc) {
  const uav = desc.bodies.find((b) => b.role === 'uav');
  const remaining = (s.remainingBits ?? []).map((b, k) => (s.initialBits?.[k] ? b / s.initialBits[k] : 0));
  const total = (s.initialBits ?? []).reduce((a, b) => a + b, 0);
  const left = (s.remainingBits ?? []).reduce((a, b) => a + b, 0);
  return {
    t: s.t ?? 0,
    episode: 0,
    reward: 0,
    return: 0,
    bodyIds: uav ? [uav.id] : [],
    poses: uav ? Float32Array.from([...s.pos, 0, 0, 0, 1]) : new Float32Array(0),
    hud: {
      batteryPct: s.batteryJ ? 100 * Math.max(0, 1 - s.energyJ / s.batteryJ) : 0,
      mbitCollected: (total - left) / 1e6,
      fractionCollected: total ? 1 - left / total : 0,
      speed: Math.hypot(...(s.vel ?? [0, 0, 0])),
      altitude: s.pos?.[2] ?? 0,
    },
    overlay: { remaining, allocation: s.allocation ?? [] },
  };
}
