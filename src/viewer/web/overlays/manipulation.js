// Manipulation: the workspace square and the chosen primitive (push or grasp) as an arrow
// at its (x, y) with its angle θ.
export function create(THREE, group, desc) {
  const ws = desc.overlay?.workspace;
  if (ws) {
    const [x0, y0, x1, y1] = ws;
    const pts = [
      [x0, y0],
      [x1, y0],
      [x1, y1],
      [x0, y1],
    ].map(([x, y]) => new THREE.Vector3(x, y, 0.002));
    group.add(new THREE.LineLoop(new THREE.BufferGeometry().setFromPoints(pts), new THREE.LineBasicMaterial({ color: 0x4fa3ff })));
  }
  const len = Math.max(0.05, desc.overlay?.pushLength ?? 0.1);
  const arrow = new THREE.ArrowHelper(new THREE.Vector3(1, 0, 0), new THREE.Vector3(), len, 0xff8c33, 0.3 * len, 0.2 * len);
  arrow.visible = false;
  group.add(arrow);
  const dir = new THREE.Vector3();
  let last = null;
  return {
    reset() {
      arrow.visible = false;
      last = null;
    },
    frame(frame) {
      const p = frame.overlay?.primitive;
      if (!p) return;
      last = p;
      dir.set(Math.cos(p.theta), Math.sin(p.theta), 0);
      arrow.position.set(p.x, p.y, 0.01);
      arrow.setDirection(dir);
      arrow.setColor(p.primitive === 'grasp' ? 0x4fbf6a : 0xff8c33);
      arrow.visible = true;
    },
    hudLines() {
      return last ? [`primitive   ${last.primitive} at (${last.x.toFixed(2)}, ${last.y.toFixed(2)}) θ ${((last.theta * 180) / Math.PI).toFixed(0)}°`] : [];
    },
  };
}
