// Task overlays, one module per task (the SceneDescription's `task` field). An overlay is
//   create(THREE, group, sceneDesc) → { frame(frame, bodyPosition), reset(), hudLines?(frame), legend }
// `legend`: [{label, color, to?, shape: 'line' | 'ring' | 'column' | 'dot' | 'pin'}], drawn beside the view.
// `group` is a THREE.Group the overlay owns; `frame` is a decoded Frame (live or recorded);
// `bodyPosition(id)` gives a body's current [x, y, z]. Tasks without an overlay get a trail.
import * as uav from './uav.js';
import * as navigation from './navigation.js';
import * as manipulation from './manipulation.js';
import * as trail from './trail.js';

const OVERLAYS = { uav, navigation, manipulation };

export function overlayFor(task) {
  return OVERLAYS[task] ?? trail;
}
