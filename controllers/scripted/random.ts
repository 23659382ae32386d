import type { Controller, ControllerContext } from '../../src/core/controller.js';
import type { EnvSpec } from '../../src/core/env.js';
import { Rng } from '../../src/core/rng.js';

/** Uniform random actions: the floor every other controller must clear. */
export function createRandom(spec: EnvSpec, context: ControllerContext): Controller {
  let rng = new Rng(context.seed);
  return {
    kind: 'random',
    reset() {},
    act() {
      return spec.actionSpace.sample(rng);
    },
  };
}
