import type { SceneDescription } from '../core/frames.js';
import { bodyFrameId, WORLD_FRAME, type Time } from './foxglove.js';
import { JsonBytes, utf8 } from './json-bytes.js';
import type { PackedFrame } from './worker-protocol.js';

/** Round to 1e-5: Float32 poses as JSON otherwise print ~17 digits of noise. */
export function roundPoses(p: ArrayLike<number>): number[] {
  const out = new Array<number>(p.length);
  for (let i = 0; i < p.length; i++) out[i] = Math.round(p[i] * 1e5) / 1e5;
  return out;
}

const EMBODY_FRAME_T = utf8('{"t":');
const EMBODY_FRAME_EPISODE = utf8(',"episode":');
const EMBODY_FRAME_POSES = utf8(',"poses":[');
const EMBODY_FRAME_BODY_IDS = utf8('],"bodyIds":[');
const EMBODY_FRAME_REWARD = utf8('],"reward":');
const EMBODY_FRAME_RETURN = utf8(',"return":');
const TF_OPEN = utf8('{"transforms":[');
const TF_STAMP = utf8('{"timestamp":{"sec":');
const TF_NSEC = utf8(',"nsec":');
const TF_Y = utf8(',"y":');
const TF_Z = utf8(',"z":');
const TF_ROTATION = utf8('},"rotation":{"x":');
const TF_W = utf8(',"w":');
const TF_CLOSE_ONE = utf8('}}');
const TF_CLOSE = utf8(']}');

/**
 * The per-frame messages of one scene, written as bytes (json-bytes.ts): /embody/frame and /tf,
 * whose text is a fixed template around the frame's numbers, and any other message through
 * JSON.stringify (scene, overlays: rare, and shaped by each task).
 */
export class MessageEncoder {
  private readonly out = new JsonBytes();
  /** Per body id: `},"parent_frame_id":"world","child_frame_id":"<frame>","translation":{"x":`. */
  private readonly tfBody = new Map<number, Uint8Array>();

  constructor(readonly scene: SceneDescription) {
    for (const b of scene.bodies) this.tfBody.set(b.id, tfBodyBytes(JSON.stringify(bodyFrameId(b))));
  }

  /**
   * embody.Frame: the numbers written here, then the frame's `{"hud":…,"overlay":…}` tail as
   * the packed frame carries it, spliced in as bytes (never parsed and re-serialised).
   */
  embodyFrame(f: PackedFrame): Uint8Array {
    const n = f.bodyIds.length;
    const o = this.out.begin(160 + 64 * n + f.tail.byteLength);
    o.raw(EMBODY_FRAME_T).num(f.t).raw(EMBODY_FRAME_EPISODE).uint(f.episode).raw(EMBODY_FRAME_POSES);
    const poses = f.poses;
    for (let i = 0; i < poses.length; i++) {
      if (i) o.ascii(',');
      o.fixed5(poses[i]);
    }
    o.raw(EMBODY_FRAME_BODY_IDS);
    for (let i = 0; i < n; i++) {
      if (i) o.ascii(',');
      o.uint(f.bodyIds[i]);
    }
    o.raw(EMBODY_FRAME_REWARD).num(f.reward).raw(EMBODY_FRAME_RETURN).num(f.return).ascii(',');
    o.raw(f.tail.subarray(1));
    return o.end();
  }

  /** foxglove.FrameTransforms: world → each dynamic body, poses rounded to 1e-5 as in embody.Frame. */
  frameTransforms(f: PackedFrame, stamp: Time): Uint8Array {
    const n = f.bodyIds.length;
    const o = this.out.begin(32 + 400 * n);
    o.raw(TF_OPEN);
    const p = f.poses;
    for (let i = 0; i < n; i++) {
      const k = 7 * i;
      if (i) o.ascii(',');
      o.raw(TF_STAMP).uint(stamp.sec).raw(TF_NSEC).uint(stamp.nsec);
      o.raw(this.tfBody.get(f.bodyIds[i]) ?? this.unknownBody(f.bodyIds[i]));
      o.fixed5(p[k]).raw(TF_Y).fixed5(p[k + 1]).raw(TF_Z).fixed5(p[k + 2]);
      o.raw(TF_ROTATION).fixed5(p[k + 3]).raw(TF_Y).fixed5(p[k + 4]).raw(TF_Z).fixed5(p[k + 5]).raw(TF_W).fixed5(p[k + 6]);
      o.raw(TF_CLOSE_ONE);
    }
    o.raw(TF_CLOSE);
    return o.end();
  }

  /** Any other message: JSON.stringify, encoded into the arena. */
  json(value: unknown): Uint8Array {
    const text = JSON.stringify(value);
    return this.out.begin(3 * text.length).text(text).end();
  }

  private unknownBody(id: number): Uint8Array {
    const bytes = tfBodyBytes(`"body_${id}"`);
    this.tfBody.set(id, bytes);
    return bytes;
  }
}

function tfBodyBytes(frameIdJson: string): Uint8Array {
  return utf8(`},"parent_frame_id":"${WORLD_FRAME}","child_frame_id":${frameIdJson},"translation":{"x":`);
}
