// The parallel-jaw gripper drawn as a tool: the hand as a palm under a wrist, each finger as a
// jaw with a dark pad on its inner face. The hand and both fingers are bodies of their own
// (role 'gripper'), posed by every frame, so the jaws open and close exactly as the simulated
// fingers do; jaws() measures the opening back from the drawn meshes (the tests ask it).

const PAD = 0x2b2f36;
const WRIST = 0x6c7580;

/**
 * Dress one gripper body's mesh. `body` is its BodyDescription; `hand` the hand's (its first
 * pose gives the side each finger closes from: pads go on the face towards the hand's axis).
 */
export function dressGripperPart(THREE, mesh, body, hand) {
  mesh.userData.part = body.name;
  const [sx, sy, sz] = body.size;
  if (body === hand) {
    const wrist = new THREE.Mesh(new THREE.CylinderGeometry(0.3 * sy, 0.3 * sy, 2 * sz, 16).rotateX(Math.PI / 2), new THREE.MeshLambertMaterial({ color: WRIST }));
    wrist.position.set(0, 0, 1.5 * sz);
    wrist.userData.part = 'gripper-wrist';
    mesh.add(wrist);
    return;
  }
  // Which way is inwards, in the finger's own frame: towards the hand, along the closing axis.
  const side = hand ? inwardSign(THREE, body.pose, hand.pose) : 1;
  const pad = new THREE.Mesh(new THREE.BoxGeometry(0.35 * sx, 0.9 * sy, 0.6 * sz), new THREE.MeshLambertMaterial({ color: PAD }));
  pad.position.set(side * 0.55 * sx, 0, -0.15 * sz);
  pad.userData.part = body.name.replace('finger', 'jaw');
  pad.userData.jaw = true;
  mesh.add(pad);
  mesh.userData.finger = true;
}

/** +1 if the hand lies on the finger's local +x side, else -1. */
function inwardSign(THREE, fingerPose, handPose) {
  const q = new THREE.Quaternion(fingerPose[3], fingerPose[4], fingerPose[5], fingerPose[6]).invert();
  const d = new THREE.Vector3(handPose[0] - fingerPose[0], handPose[1] - fingerPose[1], handPose[2] - fingerPose[2]).applyQuaternion(q);
  return d.x >= 0 ? 1 : -1;
}

/**
 * The jaws as drawn: how many fingers and pads, the opening between the fingers' inner faces
 * (centre distance less one finger thickness), and each pad's place on screen (NDC).
 */
export function jaws(THREE, world, camera) {
  const fingers = [];
  const pads = [];
  world.traverse((o) => {
    if (o.userData.finger) fingers.push(o);
    if (o.userData.jaw) pads.push(o);
  });
  const opening = fingers.length === 2 ? fingers[0].position.distanceTo(fingers[1].position) - fingers[0].geometry.parameters.width : null;
  const v = new THREE.Vector3();
  const screen = pads.map((p) => {
    p.getWorldPosition(v).project(camera);
    return [v.x, v.y, v.z];
  });
  return { fingers: fingers.length, pads: pads.length, opening, screen };
}
