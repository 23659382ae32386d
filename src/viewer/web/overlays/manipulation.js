// Manipulation (Grasping the Invisible): the workspace outline and the chosen primitive.
// Push: an arrow from (x, y) along θ, pushLength long. Grasp: the two finger landing spots
// joined across the closing axis θ. Green after a successful grasp, orange otherwise.
// Data: desc.overlay = {workspace: [x0, y0, x1, y1], pushLength}; frame.overlay.primitive =
// {primitive: 'push' | 'grasp', x, y, theta} | null, frame.overlay.lastGraspSuccess.
const PUSH = 0x4fa3ff;
const GRASP_OK = 0x3dff7a;
const GRASP_FAIL = 0xffa13d;
const Z = 0.003;

export function create(THREE, group, desc) {
  const ws = desc.overlay?.workspace;
  if (ws) {
    const [x0, y0, x1, y1] = ws;
    const pts = [[x0, y0], [x1, y0], [x1, y1], [x0, y1]].map(([x, y]) => new THREE.Vector3(x, y, Z));
    group.add(new THREE.LineLoop(new THREE.BufferGeometry().setFromPoints(pts), new THREE.LineBasicMaterial({ color: 0x888888 })));
  }
  const pushLength = desc.overlay?.pushLength ?? 0.1;
  const pos = new Float32Array(3 * 8);
  const geom = new THREE.BufferGeometry();
  geom.setAttribute('position', new THREE.BufferAttribute(pos, 3));
  geom.setDrawRange(0, 0);
  const mat = new THREE.LineBasicMaterial({ color: PUSH });
  const lines = new THREE.LineSegments(geom, mat);
  lines.frustumCulled = false;
  group.add(lines);
  let label = '';

  const seg = (i, a, b) => {
    pos.set([a[0], a[1], Z, b[0], b[1], Z], 6 * i);
  };
  return {
    legend: [
      { label: 'workspace', color: '#888888', shape: 'line' },
      { label: 'push (arrow along θ)', color: '#4fa3ff', shape: 'line' },
      { label: 'grasp: succeeded', color: '#3dff7a', shape: 'line' },
      { label: 'grasp: failed', color: '#ffa13d', shape: 'line' },
    ],
    reset() {
      geom.setDrawRange(0, 0);
      label = '';
    },
    frame(frame) {
      const p = frame.overlay?.primitive;
      if (!p) {
        geom.setDrawRange(0, 0);
        label = '';
        return;
      }
      const c = Math.cos(p.theta);
      const s = Math.sin(p.theta);
      if (p.primitive === 'push') {
        const e = [p.x + pushLength * c, p.y + pushLength * s];
        const h = 0.02;
        seg(0, [p.x, p.y], e);
        seg(1, e, [e[0] - h * Math.cos(p.theta - 0.5), e[1] - h * Math.sin(p.theta - 0.5)]);
        seg(2, e, [e[0] - h * Math.cos(p.theta + 0.5), e[1] - h * Math.sin(p.theta + 0.5)]);
        mat.color.setHex(PUSH);
        geom.setDrawRange(0, 6);
      } else {
        const w = 0.05;
        const a = [p.x + w * c, p.y + w * s];
        const b = [p.x - w * c, p.y - w * s];
        const f = 0.01;
        seg(0, a, b);
        seg(1, [a[0] - f * s, a[1] + f * c], [a[0] + f * s, a[1] - f * c]);
        seg(2, [b[0] - f * s, b[1] + f * c], [b[0] + f * s, b[1] - f * c]);
        mat.color.setHex(frame.overlay?.lastGraspSuccess ? GRASP_OK : GRASP_FAIL);
        geom.setDrawRange(0, 6);
      }
      geom.attributes.position.needsUpdate = true;
      label = `${p.primitive} (${p.x.toFixed(3)}, ${p.y.toFixed(3)}) θ ${((p.theta * 180) / Math.PI).toFixed(1)}°`;
    },
    hudLines() {
      return label ? [`primitive  ${label}`] : [];
    },
  };
}
