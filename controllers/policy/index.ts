/** The policy artifact (`embody.policy/2`): see README.md. */
export { savePolicy, saveScripted, writePolicyDir, verifyPolicyFiles, readMlpWeights, actionScalingFor, normalizationOf, type SavePolicyOptions, type ManifestDraft } from './artifact.js';
export { loadPolicy, type LoadPolicyOptions, type LoadedPolicy } from './load-policy.js';
export { readPolicyManifest, checkPolicyFits, isPolicyDir, mlpController, loadMlpPolicy, type PolicyTarget } from './read-policy.js';
export { convertPolicy, type ConvertOptions } from './convert.js';
export { PolicyController, type PolicyParts } from './controller.js';
export {
  POLICY_FORMAT,
  PolicyManifestSchema,
  type PolicyManifest,
  type PolicyHead,
  type PolicyRuntime,
  type MlpManifest,
  type TaskParams,
  type ObservationNormalization,
} from './manifest.js';
export { NetworkRunner, mlpSpec, weightShapes, outputSize, type NetworkSpec, type LayerSpec } from './network.js';
export { RunningNormalizer, StandardNormalizer, type NormalizerState } from './normalizer.js';
