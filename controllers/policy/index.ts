/** The policy artifact: see README.md. */
export { savePolicy, loadPolicy, readPolicy, actionScalingFor, type SavePolicyOptions } from './artifact.js';
export { PolicyController, type PolicyParts } from './controller.js';
export { POLICY_FORMAT, PolicyManifestSchema, type PolicyManifest, type PolicyHead } from './manifest.js';
export { NetworkRunner, mlpSpec, weightShapes, outputSize, type NetworkSpec, type LayerSpec } from './network.js';
export { RunningNormalizer, type NormalizerState } from './normalizer.js';
