// An example task kind for `register()`: a point mass on a rail, pushed towards a target.
// Plain JavaScript, so it runs with Node alone; the JSDoc types come from 'embody'.
//
// | observation | [x, v, target − x], Box(3), unbounded                              |
// | action      | Box(1) in [-1, 1]: force = action · maxForce (N)                  |
// | reward      | −|target − x| − 0.01·action² per step                            |
// | start       | x ~ U(−1, 1), v = 0                                              |
// | end         | terminated within 0.05 m of the target at under 0.05 m/s;         |
// |             | truncated after the scene's maxEpisodeSteps                       |
//
//   import { make, register } from 'embody';
//   import { pointMassTask } from './point-mass.mjs';
//   register(pointMassTask);
//   const env = await make('./point-mass.json', { seed: 0 });
import { Box } from 'embody';
import { z, sceneBase, posNum, posInt, num } from 'embody/sim';

const DT = 0.05;

/** The scene file's fields; zod reports a bad one as `file: field: reason`. */
export const pointMassSceneSchema = z.strictObject({
  ...sceneBase,
  task: z.literal('point-mass'),
  target: num(),
  mass: posNum().default(1),
  maxForce: posNum().default(2),
  maxEpisodeSteps: posInt().default(200),
});

/** @implements {import('embody').TaskModel<{x: number, v: number}, {force: number}>} */
class PointMassModel {
  id = 'point-mass';
  observationSpace = new Box(-Infinity, Infinity, [3]);
  actionSpace = new Box(-1, 1, [1]);
  /** @param {z.infer<typeof pointMassSceneSchema>} scene */
  constructor(scene) {
    this.scene = scene;
    this.limits = { setpoint: { force: [-scene.maxForce, scene.maxForce] } };
  }
  observe(s, out = new Float32Array(3)) {
    out[0] = s.x;
    out[1] = s.v;
    out[2] = this.scene.target - s.x;
    return out;
  }
  toSetpoint(action) {
    const a = Math.max(-1, Math.min(1, typeof action === 'number' ? action : action[0]));
    return { force: a * this.scene.maxForce };
  }
  holdSetpoint() {
    return { force: 0 };
  }
  reward(_prev, next, setpoint) {
    const a = setpoint.force / this.scene.maxForce;
    return -Math.abs(this.scene.target - next.x) - 0.01 * a * a;
  }
  done(s) {
    const reached = Math.abs(this.scene.target - s.x) < 0.05 && Math.abs(s.v) < 0.05;
    return reached ? { terminated: true, reason: 'reached' } : { terminated: false };
  }
  metrics(s) {
    return { finalDistance: Math.abs(this.scene.target - s.x) };
  }
}

/** Semi-implicit Euler; all randomness comes from the rng that reset() is given. */
class PointMassSim {
  constructor(scene) {
    this.scene = scene;
    this.current = { x: 0, v: 0 };
  }
  reset(rng) {
    this.current = { x: rng.uniform(-1, 1), v: 0 };
    return this.current;
  }
  advance(setpoint, dt) {
    const v = this.current.v + (setpoint.force / this.scene.mass) * dt;
    this.current = { x: this.current.x + v * dt, v };
    return this.current;
  }
  state() {
    return this.current;
  }
  describe() {
    return {
      scene: this.scene.name,
      task: 'point-mass',
      bounds: [-3, -0.5, 0, 3, 0.5, 1],
      bodies: [
        { id: 0, name: 'target', shape: 'sphere', size: [0.05], color: '#33aa55', pose: [this.scene.target, 0, 0.1, 0, 0, 0, 1], dynamic: false, role: 'target' },
        { id: 1, name: 'mass', shape: 'box', size: [0.2, 0.2, 0.2], color: '#4a90d9', pose: [0, 0, 0.1, 0, 0, 0, 1], dynamic: true, role: 'mass' },
      ],
    };
  }
  frame(s) {
    return { poses: Float32Array.of(s.x, 0, 0.1, 0, 0, 0, 1), bodyIds: [1], hud: { x: s.x, v: s.v }, overlay: {} };
  }
  close() {}
}

/** @type {import('embody').TaskKind} */
export const pointMassTask = {
  id: 'point-mass',
  schema: pointMassSceneSchema,
  model: (scene) => new PointMassModel(scene),
  simulate: (scene) => new PointMassSim(scene),
  controlPeriod: DT,
  maxEpisodeSteps: (scene) => scene.maxEpisodeSteps,
  // States are fresh objects each step, so reward(prev, next) needs no copy.
  snapshot: (s) => s,
};
