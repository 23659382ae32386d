import { cumulativeLengths, type Vec2 } from './geometry.js';
import type { Navigator } from './navigator.js';

/**
 * The planner (FantasyHSI): turns the long-horizon goal sequence into atomic actions over a
 * dynamic directed graph. Our translation (REFERENCES.md): nodes are atomic actions at
 * waypoints, edges are "then". The graph is edited while running: the critic inserts
 * corrective nodes before the current one, and a replan swaps the rest of a leg.
 */
export type ActionKind = 'go-to' | 'turn-to' | 'wait';
export type NodeStatus = 'pending' | 'active' | 'done' | 'dropped';

export interface Leg {
  goal: Vec2;
  name: string;
  /** The planned polyline of this leg, and its arc lengths. */
  path: Vec2[];
  cum: number[];
}

export interface ActionNode {
  id: number;
  kind: ActionKind;
  /** Index of the goal (leg) this action serves. */
  leg: number;
  /** go-to: the waypoint, and its arc length along the path it follows. */
  target?: Vec2;
  s?: number;
  /** go-to: the polyline it follows (the leg's, or a short one for a corrective node). */
  path?: Vec2[];
  cum?: number[];
  /** go-to: stop at the target (the leg's end, or a corrective node) rather than pass through. */
  stop?: boolean;
  /** turn-to: the heading to face, rad. */
  heading?: number;
  /** wait: seconds. */
  duration?: number;
  /** Inserted by the critic. */
  corrective?: boolean;
  status: NodeStatus;
}

/** A directed graph of action nodes with a cursor; `next` holds each node's single successor. */
export class ActionGraph {
  readonly nodes = new Map<number, ActionNode>();
  private readonly next = new Map<number, number | null>();
  private head: number | null = null;
  private ids = 0;

  add(node: Omit<ActionNode, 'id' | 'status'>): ActionNode {
    const n: ActionNode = { ...node, id: this.ids++, status: 'pending' };
    this.nodes.set(n.id, n);
    this.next.set(n.id, null);
    return n;
  }

  /** Build a chain a → b → c ... and make it the whole graph. */
  setChain(chain: ActionNode[]): void {
    for (let k = 0; k < chain.length; k++) this.next.set(chain[k].id, k + 1 < chain.length ? chain[k + 1].id : null);
    this.head = chain.length ? chain[0].id : null;
    if (chain.length) chain[0].status = 'active';
  }

  current(): ActionNode | null {
    return this.head === null ? null : this.nodes.get(this.head)!;
  }

  /** Mark the current node done and move along its edge. */
  advance(): ActionNode | null {
    const cur = this.current();
    if (!cur) return null;
    cur.status = 'done';
    this.head = this.next.get(cur.id) ?? null;
    const n = this.current();
    if (n) n.status = 'active';
    return n;
  }

  /** Drop the current node (the critic gave up on it) and move along its edge. */
  dropCurrent(): ActionNode | null {
    const cur = this.current();
    if (!cur) return null;
    this.advance();
    cur.status = 'dropped';
    return this.current();
  }

  /** Insert a node before the current one (a corrective action): new → current. */
  insertBeforeCurrent(node: ActionNode): void {
    const cur = this.current();
    this.next.set(node.id, cur ? cur.id : null);
    if (cur) cur.status = 'pending';
    this.head = node.id;
    node.status = 'active';
  }

  /**
   * Replace the rest of leg `leg` (from the current node up to the first node of a later leg)
   * with `chain`; the dropped nodes stay in the graph, marked, for the record.
   */
  replaceLeg(leg: number, chain: ActionNode[]): void {
    let id = this.head;
    while (id !== null && this.nodes.get(id)!.leg === leg) {
      this.nodes.get(id)!.status = 'dropped';
      id = this.next.get(id) ?? null;
    }
    for (let k = 0; k < chain.length; k++) this.next.set(chain[k].id, k + 1 < chain.length ? chain[k + 1].id : id);
    if (chain.length) {
      this.head = chain[0].id;
      chain[0].status = 'active';
    } else {
      this.head = id;
      if (id !== null) this.nodes.get(id)!.status = 'active';
    }
  }

  /** Skip every remaining node of legs before `leg` (the task says their goals are reached). */
  skipTo(leg: number): void {
    while (this.current() && this.current()!.leg < leg) {
      this.current()!.status = 'dropped';
      this.head = this.next.get(this.current()!.id) ?? null;
    }
    const n = this.current();
    if (n) n.status = 'active';
  }

  /** The remaining nodes in order from the cursor. */
  remaining(limit = Infinity): ActionNode[] {
    const out: ActionNode[] = [];
    for (let id = this.head; id !== null && out.length < limit; id = this.next.get(id) ?? null) out.push(this.nodes.get(id)!);
    return out;
  }
}

export interface PlannerOptions {
  /** Dwell at each goal, s. */
  waitAtGoal: number;
  /** A leg starts with a turn-to when the first segment is further than this from the heading, rad. */
  turnFirst: number;
}

/** Goal sequence → legs (navigator paths) → atomic actions. */
export class Planner {
  readonly graph = new ActionGraph();
  legs: Leg[] = [];
  replans = 0;

  constructor(
    readonly navigator: Navigator,
    readonly options: PlannerOptions = { waitAtGoal: 0.2, turnFirst: 0.8 },
  ) {}

  /** Plan every leg start → g1 → g2 ... and lay the whole task out as one chain of actions. */
  build(start: Vec2, goals: Vec2[], names: string[]): void {
    this.legs = [];
    const chain: ActionNode[] = [];
    let from = start;
    goals.forEach((goal, k) => {
      const path = this.navigator.plan(from, goal, `"${names[k]}"`);
      const leg: Leg = { goal, name: names[k], path, cum: cumulativeLengths(path) };
      this.legs.push(leg);
      chain.push(...this.legActions(k, leg, true));
      from = goal;
    });
    this.graph.setChain(chain);
  }

  /** The actions of one leg: turn-to the first segment, go-to each vertex, wait at the goal. */
  legActions(k: number, leg: Leg, withTurn: boolean): ActionNode[] {
    const out: ActionNode[] = [];
    const { path, cum } = leg;
    if (withTurn && path.length > 1) {
      out.push(this.graph.add({ kind: 'turn-to', leg: k, heading: Math.atan2(path[1][1] - path[0][1], path[1][0] - path[0][0]) }));
    }
    for (let v = 1; v < path.length; v++) {
      out.push(this.graph.add({ kind: 'go-to', leg: k, target: path[v], s: cum[v], path, cum, stop: v === path.length - 1 }));
    }
    out.push(this.graph.add({ kind: 'wait', leg: k, duration: this.options.waitAtGoal }));
    return out;
  }

  /** Replan leg k from the current pose (the navigator first perceives the lidar scan). */
  replan(k: number, pose: [number, number, number], lidar?: ArrayLike<number>): Leg {
    if (lidar) this.navigator.perceive(pose, lidar);
    const old = this.legs[k];
    const path = this.navigator.plan([pose[0], pose[1]], old.goal, `"${old.name}"`);
    const leg: Leg = { ...old, path, cum: cumulativeLengths(path) };
    this.legs[k] = leg;
    this.graph.replaceLeg(k, this.legActions(k, leg, false));
    this.replans++;
    return leg;
  }
}
