import { describe, expect, it } from 'vitest';
import { LosChannel, dbmToW, fromDb } from './channel.js';
import { uavSceneSchema } from './scene.js';

describe('line-of-sight channel', () => {
  const ch = new LosChannel(uavSceneSchema.shape.channel.parse(undefined));

  it('converts dB and dBm', () => {
    expect(fromDb(-60)).toBeCloseTo(1e-6, 15);
    expect(dbmToW(-110)).toBeCloseTo(1e-14, 20);
  });

  it('rate at 100 m matches B·log2(1 + Pβ0/(σ²d²)) by hand', () => {
    // 0.1 W · 1e-6 / (1e-14 W · 100²) = 1000 → 0.5 MHz · log2(1001) = 4.98 Mbit/s
    const r = ch.rate(0.5e6, ch.snrAt1m(0.1), 100 * 100);
    expect(r).toBeCloseTo(0.5e6 * Math.log2(1001), 3);
  });

  it('radio range is where the SNR falls to the threshold', () => {
    const range = ch.range(0.1); // minSnrDb 20 by default: √(1e7/100) = 316.2 m
    expect(range).toBeCloseTo(Math.sqrt(1e7 / 100), 6);
    expect(ch.snrAt1m(0.1) / (range * range)).toBeCloseTo(ch.minSnr, 6);
  });
});
