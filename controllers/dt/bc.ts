import type { Controller } from '../../src/core/controller.js';
import { NetworkRunner } from '../policy/network.js';
import type { TrainedBc } from './train.js';

/** Behaviour cloning as a Controller: tanh(MLP((s − μ)/σ)), pure JS. */
export class BcController implements Controller {
  readonly kind = 'bc';
  private readonly runner: NetworkRunner;
  private readonly buf: Float32Array;
  constructor(private readonly bc: TrainedBc) {
    this.runner = new NetworkRunner(bc.net.spec, bc.net.weights);
    this.buf = new Float32Array(bc.obsMean.length);
  }
  reset(): void {}
  act(obs: Float32Array): Float32Array {
    for (let i = 0; i < this.buf.length; i++) this.buf[i] = (obs[i] - this.bc.obsMean[i]) / this.bc.obsStd[i];
    return Float32Array.from(this.runner.forward(this.buf), Math.tanh);
  }
}
