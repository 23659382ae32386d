import type { Controller } from '../src/core/controller.js';
import type { Action } from '../src/core/env.js';

/**
 * Zero-shot transfer of a UAV policy trained with fewer devices (uav-small: 6, a 32-float
 * observation) to a scene with more (uav-city: 12, 56 floats), with no weights changed: each step
 * the policy sees the UAV's 8 floats and `devices` of the devices in the layout of sim/uav/model.ts
 * (relative position ÷ area, data fraction left), those with data left first, nearest first. The
 * other devices are hidden from it until they are among the nearest with data left.
 */
const UAV_FLOATS = 8;
const DEVICE_FLOATS = 4;

export class UavDeviceSubset implements Controller {
  readonly kind: string;
  private readonly out: Float32Array;

  constructor(
    readonly inner: Controller,
    readonly devices: number,
  ) {
    this.kind = `${inner.kind}+device-subset`;
    this.out = new Float32Array(UAV_FLOATS + DEVICE_FLOATS * devices);
  }

  reset(): void {
    this.inner.reset();
  }

  observeReward(reward: number): void {
    this.inner.observeReward?.(reward);
  }

  act(obs: Float32Array): Action {
    const n = (obs.length - UAV_FLOATS) / DEVICE_FLOATS;
    if (!Number.isInteger(n) || n < this.devices) throw new RangeError(`UavDeviceSubset: ${obs.length} floats is not a UAV observation with ≥ ${this.devices} devices`);
    const at = (k: number) => UAV_FLOATS + DEVICE_FLOATS * k;
    const dist = (k: number) => Math.hypot(obs[at(k)], obs[at(k) + 1], obs[at(k) + 2]);
    const order = Array.from({ length: n }, (_, k) => k).sort((a, b) => Number(obs[at(a) + 3] <= 0) - Number(obs[at(b) + 3] <= 0) || dist(a) - dist(b) || a - b);
    this.out.set(obs.subarray(0, UAV_FLOATS));
    for (let j = 0; j < this.devices; j++) this.out.set(obs.subarray(at(order[j]), at(order[j]) + DEVICE_FLOATS), at(j));
    return this.inner.act(this.out);
  }

  dispose(): void {
    this.inner.dispose?.();
  }
}
