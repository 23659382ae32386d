/**
 * `embody/hardware`: the ground station, the on-robot agent, the MQTT protocol (version 1)
 * and the safety layer, for a robot team that writes its own side in Node.
 */
export { Bridge, type BridgeOptions, type EpisodeSummary } from './bridge.js';
export { deployPolicy, policyIdOf, type DeployOptions } from './deploy-sender.js';
export { publishEstop, sendEstop, type EstopOutcome } from './estop-sender.js';
export { RobotAgent, type AgentOptions } from './agent.js';
export type { Mode, ExecutedCommand } from './control-loop.js';
export type { Driver, StepOutcome, EpisodeInfo, EpisodeEnd } from './devices/driver.js';
export * from './protocol.js';
export * from './safety.js';
export { connectClient } from './client.js';
export { startBroker } from './broker.js';
