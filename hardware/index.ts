/**
 * `embody/hardware`: the ground station, the on-robot agent, the MQTT protocol (version 1)
 * and the safety layer, for a robot team that writes its own side in Node.
 */
export { Bridge, deployPolicy, publishEstop, policyIdOf, type BridgeOptions, type EpisodeSummary, type DeployOptions } from './bridge.js';
export { RobotAgent, type AgentOptions, type Mode } from './agent.js';
export * from './protocol.js';
export * from './safety.js';
export { connectClient } from './client.js';
export { startBroker } from './broker.js';
