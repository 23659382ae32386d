// The 3D view: renderer, camera, orbit controls and the bodies of a SceneDescription.
// World frame is z-up metres (as in src/core/frames.ts), so the camera's up is +z.
import * as THREE from 'three';
import { OrbitControls } from 'three/addons/controls/OrbitControls.js';
import { CSS2DObject, CSS2DRenderer } from 'three/addons/renderers/CSS2DRenderer.js';
import { dressGripperPart, jaws } from './gripper.js';

/**
 * A quadrotor for the UAV: hub, four arms and four rotor discs, `size` metres across. A
 * sphere a few decimetres wide vanishes from 200 m away, so the model is drawn at a size
 * read from the workspace (as Foxglove scales its markers), not the body's own.
 */
function quadrotor(size, color) {
  const g = new THREE.Group();
  g.name = 'quadrotor';
  const dark = new THREE.MeshLambertMaterial({ color: 0x2b2f36 });
  const body = new THREE.MeshLambertMaterial({ color });
  const hub = new THREE.Mesh(new THREE.BoxGeometry(0.3 * size, 0.3 * size, 0.12 * size), body);
  g.add(hub);
  const rotor = new THREE.MeshBasicMaterial({ color: 0xdfe6ee, transparent: true, opacity: 0.55, side: THREE.DoubleSide });
  for (let k = 0; k < 4; k++) {
    const a = Math.PI / 4 + (k * Math.PI) / 2;
    const arm = new THREE.Mesh(new THREE.BoxGeometry(0.5 * size, 0.06 * size, 0.05 * size), dark);
    arm.position.set(0.25 * size * Math.cos(a), 0.25 * size * Math.sin(a), 0);
    arm.rotation.z = a;
    g.add(arm);
    const disc = new THREE.Mesh(new THREE.CircleGeometry(0.2 * size, 20), rotor);
    disc.position.set(0.5 * size * Math.cos(a), 0.5 * size * Math.sin(a), 0.05 * size);
    disc.name = 'rotor';
    g.add(disc);
  }
  return g;
}

/** A text label in the page, pinned to a point of the 3D scene (CSS2DRenderer). */
function label(text, kind) {
  const el = document.createElement('div');
  el.className = `label label-${kind}`;
  el.textContent = text;
  const obj = new CSS2DObject(el);
  obj.name = `label:${text}`;
  return obj;
}

/** A round length for the scale bar: 1, 2 or 5 × 10^k metres. */
function niceLength(maxMetres) {
  const mag = 10 ** Math.floor(Math.log10(maxMetres));
  return [5, 2, 1].map((k) => k * mag).find((v) => v <= maxMetres) ?? mag;
}

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
  // Labels (devices, places, objects) as HTML over the canvas: crisp text at any render scale.
  const labels = new CSS2DRenderer();
  labels.setSize(container.clientWidth, container.clientHeight);
  labels.domElement.className = 'labels';
  container.appendChild(labels.domElement);
  // Scale bar and north arrow, as a map has them.
  const scaleBar = document.createElement('div');
  scaleBar.id = 'scale-bar';
  scaleBar.innerHTML = '<div class="bar"></div><span></span>';
  container.appendChild(scaleBar);
  const north = document.createElement('div');
  north.id = 'north-arrow';
  north.title = 'north (+y)';
  north.innerHTML = '<div class="needle">▲</div><span>N</span>';
  container.appendChild(north);

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
      if (o.isCSS2DObject) o.element.remove();
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
    const hand = desc.bodies.find((b) => b.role === 'gripper' && /hand/.test(b.name)) ?? null;
    for (const body of desc.bodies) {
      const [px, py, pz, qx, qy, qz, qw] = body.pose;
      const geom = geometryOf(body);
      const q = new THREE.Quaternion(qx, qy, qz, qw);
      const material = body.dynamic ? new THREE.MeshLambertMaterial({ color: body.color }) : bakedMaterial(geom, body.color, q);
      const mesh = new THREE.Mesh(geom, material);
      mesh.position.set(px, py, pz);
      mesh.quaternion.copy(q);
      mesh.name = body.name;
      if (body.role === 'uav') mesh.add(quadrotor(Math.max(8 * body.size[0], 0.03 * span), body.color));
      // The gripper's hand and fingers are bodies of their own: dressed as palm, wrist and jaws.
      if (body.role === 'gripper') dressGripperPart(THREE, mesh, body, hand);
      // Objects on a table carry their names (the target's label in green).
      if (body.role === 'target' || body.role === 'clutter') {
        const l = label(body.name, body.role);
        l.position.set(0, 0, (body.size[2] ?? body.size[0]) / 2 + 0.01);
        mesh.add(l);
      }
      // The body the follow camera tracks and the tests ask about: the UAV, the robot, the hand.
      if (uavId === null && (body.role === 'uav' || body.role === 'robot' || body.name === 'gripper-hand')) uavId = body.id;
      bodies.set(body.id, mesh);
      world.add(mesh);
    }
    // Named devices (UAV task) and places (rooms, doors: navigation), as labels.
    for (const d of desc.overlay?.devices ?? []) {
      const l = label(d.name, 'device');
      l.position.set(d.position[0], d.position[1], Math.max(5, 0.12 * span) * 1.08);
      world.add(l);
    }
    for (const p of desc.overlay?.places ?? []) {
      const l = label(p.name, 'place');
      l.position.set(p.position[0], p.position[1], 0.05);
      world.add(l);
    }
    // Frame the whole workspace, whatever its scale (a 300 m city or a 0.5 m table). A scene
    // taller than it is wide (the gripper parks high above a small table) is framed by its
    // height, looking at its lower part, so the tool stays in view.
    const cx = (x0 + x1) / 2;
    const cy = (y0 + y1) / 2;
    const tall = desc.bounds[5] - z0 > span;
    const reach = tall ? 1.8 * (desc.bounds[5] - z0) : span;
    const tz = tall ? z0 + 0.4 * (desc.bounds[5] - z0) : z0;
    controls.target.set(cx, cy, tz);
    camera.position.set(cx - 0.1 * reach, cy - 0.95 * reach, tz + 0.6 * reach);
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

  /** Scale bar: the longest round length under 120 px at the orbit target; north arrow: +y on screen. */
  const a = new THREE.Vector3();
  const b = new THREE.Vector3();
  const overlayState = { metresPerPixel: 0, scaleMetres: 0, northDeg: 0 };
  function updateMapOverlays() {
    const h = container.clientHeight || 1;
    const dist = camera.position.distanceTo(controls.target);
    const mpp = (2 * dist * Math.tan((camera.fov * Math.PI) / 360)) / h;
    const metres = niceLength(120 * mpp);
    scaleBar.firstChild.style.width = `${(metres / mpp).toFixed(0)}px`;
    scaleBar.lastChild.textContent = metres >= 1 ? `${metres} m` : `${Math.round(metres * 100)} cm`;
    a.copy(controls.target).project(camera);
    b.copy(controls.target).add(new THREE.Vector3(0, dist * 0.1, 0)).project(camera);
    const deg = (Math.atan2(b.x - a.x, b.y - a.y) * 180) / Math.PI;
    north.firstChild.style.transform = `rotate(${deg.toFixed(1)}deg)`;
    Object.assign(overlayState, { metresPerPixel: mpp, scaleMetres: metres, northDeg: deg });
  }

  function resize() {
    const w = container.clientWidth;
    const h = container.clientHeight;
    if (!w || !h) return;
    renderer.setSize(w, h);
    labels.setSize(w, h);
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
      labels.render(scene, camera);
      updateMapOverlays();
    },
    /** What the map overlays show (for tests): metres per pixel, the scale bar's length, the north arrow's angle. */
    mapOverlays: () => ({ ...overlayState }),
    /** Label texts currently in the scene. */
    labels() {
      const out = [];
      world.traverse((o) => o.isCSS2DObject && out.push(o.element.textContent));
      return out;
    },
    /** The gripper's jaws as drawn: fingers, pads, opening (m), pads on screen (NDC). */
    gripperJaws: () => jaws(THREE, world, camera),
    /** The robot models drawn (quadrotor, gripper parts). */
    robotModels() {
      const out = [];
      world.traverse((o) => (o.name === 'quadrotor' || o.userData.part) && out.push(o.userData.part ?? o.name));
      return out;
    },
    dispose() {
      clear();
      renderer.dispose();
      renderer.domElement.remove();
    },
  };
}
