// The fallback overlay: a trail behind the first dynamic body.
export function create(THREE, group, desc) {
  const MAX = 20000;
  const positions = new Float32Array(3 * MAX);
  const geom = new THREE.BufferGeometry();
  geom.setAttribute('position', new THREE.BufferAttribute(positions, 3));
  geom.setDrawRange(0, 0);
  const line = new THREE.Line(geom, new THREE.LineBasicMaterial({ color: 0xffcc33 }));
  line.frustumCulled = false;
  group.add(line);
  const mover = desc.bodies.find((b) => b.dynamic);
  let n = 0;
  return {
    legend: [{ label: 'trail', color: '#ffcc33', shape: 'line' }],
    reset() {
      n = 0;
      geom.setDrawRange(0, 0);
    },
    frame(frame, bodyPosition) {
      const p = mover && bodyPosition(mover.id);
      if (!p || n >= MAX) return;
      positions.set(p, 3 * n);
      n++;
      geom.attributes.position.needsUpdate = true;
      geom.setDrawRange(0, n);
    },
  };
}
