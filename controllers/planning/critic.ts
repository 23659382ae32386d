import { project, wrapAngle, type Vec2 } from './geometry.js';

/**
 * The closed-loop critic (FantasyHSI): measures how far the executed motion deviates from the
 * planned path, and corrects drift. Our translation (REFERENCES.md): after each atomic action
 * and at a fixed rate it measures the cross-track error, the heading error against the path
 * tangent and the progress along the path; past the scene's thresholds it asks for a
 * corrective node or a replan from the current pose. Every decision is an event.
 */
export interface CriticThresholds {
  rateHz: number;
  correctCrossTrack: number;
  replanCrossTrack: number;
  headingError: number;
  stallSeconds: number;
  minProgress: number;
}

export type CriticDecision =
  | { kind: 'ok' }
  | { kind: 'correct'; target: Vec2; reason: string }
  | { kind: 'turn'; heading: number; reason: string }
  | { kind: 'replan'; reason: string }
  | { kind: 'skip'; reason: string };

export interface CriticEvent {
  t: number;
  kind: string;
  reason?: string;
  crossTrack: number;
  headingError: number;
  progress: number;
  pose: [number, number];
  [k: string]: unknown;
}

export interface PathView {
  path: Vec2[];
  cum: number[];
}

export class Critic {
  readonly events: CriticEvent[] = [];
  private lastCheck = -Infinity;
  private lastAction = -Infinity;
  private progressMark = { t: 0, s: 0 };
  private turnMark = { t: 0, err: Infinity };
  checks = 0;

  constructor(
    readonly th: CriticThresholds,
    /** Seconds after a correction before the next one (the correction needs time to act). */
    readonly cooldown = 1.0,
  ) {}

  reset(): void {
    this.events.length = 0;
    this.lastCheck = -Infinity;
    this.lastAction = -Infinity;
    this.progressMark = { t: 0, s: 0 };
    this.turnMark = { t: 0, err: Infinity };
    this.checks = 0;
  }

  /** A new path (a new leg or a replan): progress is measured afresh. */
  restartProgress(t: number, s = 0): void {
    this.progressMark = { t, s };
  }

  /** True when the fixed-rate check is due at time t. */
  due(t: number): boolean {
    return t - this.lastCheck >= 1 / this.th.rateHz - 1e-9;
  }

  /**
   * Judge the pose against the path. `afterAction` marks the check that follows an atomic
   * action's end; `moving` is false during turn-to and wait (no progress is expected then).
   * `sMin` keeps the projection from jumping back along a path that doubles back.
   */
  check(t: number, pose: [number, number, number], view: PathView, opts: { afterAction?: string; moving: boolean; sMin?: number; turnError?: number }): CriticDecision {
    this.lastCheck = t;
    this.checks++;
    // A turn-to that stops closing its heading error (a turn-rate bias the turn law cannot beat) is dropped.
    if (opts.turnError === undefined) this.turnMark = { t, err: Infinity };
    else if (Math.abs(opts.turnError) < this.turnMark.err - 0.05) this.turnMark = { t, err: Math.abs(opts.turnError) };
    else if (t - this.turnMark.t >= this.th.stallSeconds) {
      const reason = `turn-to stuck at ${Math.abs(opts.turnError).toFixed(2)} rad for ${this.th.stallSeconds} s`;
      this.turnMark = { t, err: Infinity };
      this.events.push({ t, kind: 'skip', reason, crossTrack: 0, headingError: opts.turnError, progress: 0, pose: [pose[0], pose[1]] });
      return { kind: 'skip', reason };
    }
    const pr = project(view.path, view.cum, [pose[0], pose[1]], opts.sMin ?? -Infinity);
    const total = view.cum[view.cum.length - 1];
    const headingError = wrapAngle(pose[2] - pr.tangent);
    if (pr.s - this.progressMark.s >= this.th.minProgress || !opts.moving) this.progressMark = { t, s: pr.s };
    const stalled = opts.moving && t - this.progressMark.t >= this.th.stallSeconds;
    const base = { t, crossTrack: pr.crossTrack, headingError, progress: total > 0 ? pr.s / total : 1, pose: [pose[0], pose[1]] as [number, number] };
    if (t - this.lastAction < this.cooldown && !opts.afterAction) return { kind: 'ok' };
    let d: CriticDecision = { kind: 'ok' };
    if (stalled) d = { kind: 'replan', reason: `no progress for ${this.th.stallSeconds} s` };
    else if (pr.crossTrack > this.th.replanCrossTrack) d = { kind: 'replan', reason: `cross-track ${pr.crossTrack.toFixed(2)} m > ${this.th.replanCrossTrack}` };
    else if (pr.crossTrack > this.th.correctCrossTrack) {
      // Back onto the path a little ahead of the closest point, so the correction also makes progress.
      const ahead = Math.min(total, pr.s + Math.max(0.2, pr.crossTrack));
      let k = 0;
      while (k < view.cum.length - 2 && view.cum[k + 1] < ahead) k++;
      const l = view.cum[k + 1] - view.cum[k];
      const u = l > 0 ? (ahead - view.cum[k]) / l : 0;
      const target: Vec2 = [view.path[k][0] + u * (view.path[k + 1][0] - view.path[k][0]), view.path[k][1] + u * (view.path[k + 1][1] - view.path[k][1])];
      d = { kind: 'correct', target, reason: `cross-track ${pr.crossTrack.toFixed(2)} m > ${this.th.correctCrossTrack}` };
    } else if (opts.moving && Math.abs(headingError) > this.th.headingError) {
      d = { kind: 'turn', heading: pr.tangent, reason: `heading error ${headingError.toFixed(2)} rad > ${this.th.headingError}` };
    }
    if (d.kind !== 'ok') {
      this.lastAction = t;
      this.progressMark = { t, s: pr.s };
      this.events.push({ ...base, kind: d.kind, reason: d.reason, ...(opts.afterAction ? { after: opts.afterAction } : {}) });
    }
    return d;
  }

  /** Log a decision taken elsewhere (a failed replan, a goal the task did not register). */
  log(e: CriticEvent): void {
    this.events.push(e);
  }
}
