// The 3D view: renderer, camera, orbit controls and the bodies of a SceneDescription.
// World frame is z-up metres (as in src/core/frames.ts), so the camera's up is +z.
import * as THREE from 'three';
import { OrbitControls } from 'three/addons/controls/OrbitControls.js';

/** Mesh geometry for a body: box [x,y,z]; sphere [r]; cylinder/capsule [r, h] along z. */
function geometryOf(body) {
  const [a, b = a, c = a] = body.size;
  switch (body.shape) {
    case 'box':
      return new THREE.BoxGeometry(a, b, c);
    case 'sphere':
      return new THREE.SphereGeometry(a, 20, 14);
    case 'cylinder':
      return new THREE.CylinderGeometry(a, a, b, 24).rotateX(Math.PI / 2);
    case 'capsule':
      // three's CapsuleGeometry(radius, length) has the same meaning as Rapier's: length of the straight part.
      return new THREE.CapsuleGeometry(a, b, 6, 16).rotateX(Math.PI / 2);
    default:
      return new THREE.BoxGeometry(1, 1, 1);
  }
}

// Lighting: a hemisphere light and a sun. Static bodies get it baked into vertex colours
// (MeshBasicMaterial), which looks the same from a fixed sun and is far cheaper per pixel on
// software GL, where fill rate is the limit; moving bodies keep real Lambert shading.
const HEMI = { intensity: 1.6, sky: 0xdde8ff, ground: 0x303030 };
const SUN = { intensity: 1.4, dir: new THREE.Vector3(0.4, -0.6, 1).normalize() };

function bakedMaterial(geometry, color, quaternion) {
  const n = geometry.attributes.normal;
  const out = new Float32Array(3 * n.count);
  const base = new THREE.Color(color);
  const sky = new THREE.Color(HEMI.sky);
  const ground = new THREE.Color(HEMI.ground);
  const v = new THREE.Vector3();
  const irr = new THREE.Color();
  for (let i = 0; i < n.count; i++) {
    v.fromBufferAttribute(n, i).applyQuaternion(quaternion);
    // As three's Lambert does: (hemisphere irradiance + sun · max(0, n·l)) · albedo / π.
    irr.copy(ground).lerp(sky, 0.5 + 0.5 * v.z).multiplyScalar(HEMI.intensity);
    const sun = SUN.intensity * Math.max(0, v.dot(SUN.dir));
    out[3 * i] = (base.r * (irr.r + sun)) / Math.PI;
    out[3 * i + 1] = (base.g * (irr.g + sun)) / Math.PI;
    out[3 * i + 2] = (base.b * (irr.b + sun)) / Math.PI;
  }
  geometry.setAttribute('color', new THREE.BufferAttribute(out, 3));
  return new THREE.MeshBasicMaterial({ vertexColors: true });
}

export function createView(container) {
  // No preserveDrawingBuffer (it costs a copy per frame on software GL); tests read pixels
  // with capture(), which renders and reads in the same task.
  const renderer = new THREE.WebGLRenderer({ antialias: false });
  renderer.setPixelRatio(1);
  renderer.setSize(container.clientWidth, container.clientHeight);
  container.appendChild(renderer.domElement);

  const scene = new THREE.Scene();
  scene.background = new THREE.Color('#1b2028');
  const camera = new THREE.PerspectiveCamera(50, container.clientWidth / container.clientHeight, 0.1, 5000);
  camera.up.set(0, 0, 1);
  camera.position.set(-60, -80, 120);
  const controls = new OrbitControls(camera, renderer.domElement);
  controls.enableDamping = false;

  const hemi = new THREE.HemisphereLight(HEMI.sky, HEMI.ground, HEMI.intensity);
  hemi.position.set(0, 0, 1); // the sky is +z here (three's default is +y)
  scene.add(hemi);
  const sun = new THREE.DirectionalLight(0xffffff, SUN.intensity);
  sun.position.copy(SUN.dir);
  scene.add(sun);

  const world = new THREE.Group(); // bodies + ground of the current scene
  scene.add(world);
  const bodies = new Map(); // id → Object3D
  let desc = null;
  let uavId = null;
  let follow = false;
  const followOffset = new THREE.Vector3();

  function clear() {
    world.traverse((o) => {
      o.geometry?.dispose?.();
      o.material?.dispose?.();
    });
    world.clear();
    bodies.clear();
  }

  /** Build the bodies of a SceneDescription (replacing the previous scene). */
  function build(sceneDesc) {
    clear();
    desc = sceneDesc;
    uavId = null;
    const [x0, y0, z0, x1, y1] = desc.bounds;
    const w = x1 - x0;
    const h = y1 - y0;
    const span = Math.max(w, h);
    // The scene's own ground body (a table, a field) is drawn as a body; otherwise add a plane.
    if (!desc.bodies.some((b) => b.role === 'ground')) {
      const plane = new THREE.PlaneGeometry(w, h);
      const ground = new THREE.Mesh(plane, bakedMaterial(plane, '#2a3a2c', new THREE.Quaternion()));
      ground.position.set((x0 + x1) / 2, (y0 + y1) / 2, z0 - 0.001 * span);
      world.add(ground);
    }
    const grid = new THREE.GridHelper(span, 20, 0x7a8794, 0x5c6773);
    grid.rotateX(Math.PI / 2);
    grid.position.set((x0 + x1) / 2, (y0 + y1) / 2, z0 + 0.0005 * span);
    world.add(grid);
    for (const body of desc.bodies) {
      const [px, py, pz, qx, qy, qz, qw] = body.pose;
      const geom = geometryOf(body);
      const q = new THREE.Quaternion(qx, qy, qz, qw);
      const material = body.dynamic ? new THREE.MeshLambertMaterial({ color: body.color }) : bakedMaterial(geom, body.color, q);
      const mesh = new THREE.Mesh(geom, material);
      mesh.position.set(px, py, pz);
      mesh.quaternion.copy(q);
      mesh.name = body.name;
      if (body.role === 'uav') {
        // A sphere a few decimetres across vanishes from 200 m away: add a marker ring that keeps it findable.
        const marker = new THREE.Mesh(new THREE.TorusGeometry(Math.max(2, body.size[0] * 4), 0.35, 8, 32), new THREE.MeshBasicMaterial({ color: body.color }));
        mesh.add(marker);
      }
      // The body the follow camera tracks and the tests ask about: the UAV, the robot, the hand.
      if (uavId === null && (body.role === 'uav' || body.role === 'robot' || body.name === 'gripper-hand')) uavId = body.id;
      bodies.set(body.id, mesh);
      world.add(mesh);
    }
    // Frame the whole workspace, whatever its scale (a 300 m city or a 0.5 m table).
    const cx = (x0 + x1) / 2;
    const cy = (y0 + y1) / 2;
    controls.target.set(cx, cy, z0);
    camera.position.set(cx - 0.1 * span, cy - 0.95 * span, z0 + 0.6 * span);
    camera.near = span / 2000;
    camera.far = span * 10;
    camera.updateProjectionMatrix();
    controls.update();
  }

  /** Move the dynamic bodies to a frame's poses. */
  function applyFrame(frame) {
    const p = frame.poses;
    for (let i = 0; i < frame.bodyIds.length; i++) {
      const mesh = bodies.get(frame.bodyIds[i]);
      if (!mesh) continue;
      const o = 7 * i;
      mesh.position.set(p[o], p[o + 1], p[o + 2]);
      mesh.quaternion.set(p[o + 3], p[o + 4], p[o + 5], p[o + 6]);
    }
    if (follow && uavId !== null) {
      const uav = bodies.get(uavId);
      // Follow camera: keep the camera's offset from the UAV as the user orbits.
      followOffset.copy(camera.position).sub(controls.target);
      controls.target.copy(uav.position);
      camera.position.copy(uav.position).add(followOffset);
    }
  }

  function bodyPosition(id) {
    const m = bodies.get(id);
    return m ? [m.position.x, m.position.y, m.position.z] : null;
  }

  function uavPosition() {
    const uav = uavId !== null ? bodies.get(uavId) : null;
    return uav ? [uav.position.x, uav.position.y, uav.position.z] : null;
  }

  function resize() {
    const w = container.clientWidth;
    const h = container.clientHeight;
    if (!w || !h) return;
    renderer.setSize(w, h);
    camera.aspect = w / h;
    camera.updateProjectionMatrix();
  }
  window.addEventListener('resize', resize);

  return {
    THREE,
    scene,
    camera,
    controls,
    renderer,
    build,
    applyFrame,
    uavPosition,
    bodyPosition,
    get desc() {
      return desc;
    },
    setFollow(on) {
      follow = on;
    },
    /** Render resolution as a fraction of the canvas's CSS size (1 = full). */
    setScale(scale) {
      renderer.setPixelRatio(scale);
      resize();
    },
    /** Render now and return the picture scaled to w × h as base64 RGBA (for tests). */
    capture(w, h) {
      controls.update();
      renderer.render(scene, camera);
      const c = document.createElement('canvas');
      c.width = w;
      c.height = h;
      const ctx = c.getContext('2d');
      ctx.drawImage(renderer.domElement, 0, 0, w, h);
      const d = ctx.getImageData(0, 0, w, h).data;
      let out = '';
      for (let i = 0; i < d.length; i += 8192) out += String.fromCharCode.apply(null, d.subarray(i, i + 8192));
      return btoa(out);
    },
    render() {
      controls.update();
      renderer.render(scene, camera);
    },
    dispose() {
      clear();
      renderer.dispose();
      renderer.domElement.remove();
    },
  };
}
