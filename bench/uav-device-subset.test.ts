import { describe, expect, it } from 'vitest';
import type { Controller } from '../src/core/controller.js';
import { UavDeviceSubset } from './uav-device-subset.js';

/** Records what it was shown. */
class Spy implements Controller {
  readonly kind = 'spy';
  seen: Float32Array[] = [];
  rewards: number[] = [];
  resets = 0;
  reset() {
    this.resets++;
  }
  observeReward(r: number) {
    this.rewards.push(r);
  }
  act(obs: Float32Array) {
    this.seen.push(obs.slice());
    return new Float32Array(3);
  }
}

describe('UavDeviceSubset (zero-shot transfer to more devices)', () => {
  it('shows the UAV floats and the nearest devices with data left, emptied ones last', () => {
    // 4 devices: (dx, dy, dz, data left); device 1 is nearest but empty.
    const dev = [
      [0.5, 0, 0, 1],
      [0.1, 0, 0, 0],
      [0.2, 0.1, 0, 0.4],
      [-0.9, 0, 0, 1],
    ];
    const obs = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, ...dev.flat()]);
    const spy = new Spy();
    const c = new UavDeviceSubset(spy, 3);
    c.act(obs);
    expect(Array.from(spy.seen[0])).toEqual(Array.from(Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, ...dev[2], ...dev[0], ...dev[3]])));
    // With every device empty, the nearest ones.
    c.act(Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, ...dev.map((d) => [d[0], d[1], d[2], 0]).flat()]));
    expect(Array.from(spy.seen[1].subarray(8, 20))).toEqual(Array.from(Float32Array.from([0.1, 0, 0, 0, 0.2, 0.1, 0, 0, 0.5, 0, 0, 0])));
    c.observeReward(2);
    c.reset();
    expect(spy.rewards).toEqual([2]);
    expect(spy.resets).toBe(1);
    expect(() => c.act(new Float32Array(8 + 4 * 2))).toThrow(/devices/);
  });
});
