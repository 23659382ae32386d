/** Double DQN: see README.md. */
export { DqnLearner, createDqn, parseDqnConfig, linearEpsilon } from './dqn.js';
export { DqnConfigSchema, type DqnConfig } from './config.js';
export { QNetwork, dqnTargets, huberLoss } from './q-network.js';
