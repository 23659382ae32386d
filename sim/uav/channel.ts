import type { ChannelModel } from './scene.js';

/** dB → linear power ratio. */
export const fromDb = (db: number) => Math.pow(10, db / 10);
/** dBm → watts. */
export const dbmToW = (dbm: number) => Math.pow(10, (dbm - 30) / 10);

/**
 * Line-of-sight air-to-ground link (LLM-CRDT, arXiv 2509.13934, after Zeng et al.):
 *   r = B · log2(1 + P·β0·g / (σ²·d²)), d the 3-D distance, g the small-scale power gain (1 for pure LoS).
 * Precomputes the constant P·β0/σ² per device, since this runs at the physics rate.
 */
export class LosChannel {
  readonly beta0: number;
  readonly noiseW: number;
  readonly minSnr: number;

  constructor(readonly model: ChannelModel) {
    this.beta0 = fromDb(model.beta0Db);
    this.noiseW = dbmToW(model.noiseDbm);
    this.minSnr = fromDb(model.minSnrDb);
  }

  /** Reference SNR at 1 m for a device of transmit power `txPowerW`: P·β0/σ². */
  snrAt1m(txPowerW: number): number {
    return (txPowerW * this.beta0) / this.noiseW;
  }

  /** Rate in bit/s over bandwidth `bandwidthHz` at squared distance `d2` (m²). */
  rate(bandwidthHz: number, snr1m: number, d2: number, gain = 1): number {
    return bandwidthHz * Math.log2(1 + (snr1m * gain) / Math.max(d2, 1e-6));
  }

  /** Radio range (m, 3-D) where the SNR falls to `minSnrDb`: d = √(P·β0/(σ²·SNRmin)). */
  range(txPowerW: number): number {
    return Math.sqrt(this.snrAt1m(txPowerW) / this.minSnr);
  }
}
