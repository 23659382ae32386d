export { NavAgent, createNavPursuit, createNavPursuitCritic, type NavAgentOptions } from './agent.js';
export { Critic, type CriticThresholds, type CriticDecision, type CriticEvent } from './critic.js';
export { Navigator } from './navigator.js';
export { Planner, ActionGraph, type ActionNode, type ActionKind, type Leg } from './planner.js';
export { PurePursuit, LearnedFollower, type WaypointFollower } from './pursuit.js';
export { project, pointAt, cumulativeLengths, wrapAngle, type Vec2 } from './geometry.js';
