/** PPO: see README.md. */
export { PpoLearner, createPpo, parsePpoConfig } from './ppo.js';
export { PpoConfigSchema, type PpoConfig } from './config.js';
export { computeGae, type GaeInput } from './gae.js';
export { ppoLoss, type PpoLossInput, type PpoLossOptions, type PpoLossParts } from './loss.js';
