import { z } from 'zod';
import { NetworkSpecSchema } from './network.js';

/**
 * The policy artifact's manifest.json (DESIGN.md "Policy artifact", hardware/README.md "The
 * policy artifact"). One zod schema is the validation, the type and the error message.
 *
 * Every controller kind writes the same format; `runtime` names the loader that runs it, and
 * each runtime adds its own section (`mlp`: the network; `dt`: the transformer; `manip-critic`:
 * the Q network; `nav-composite`: the planner's settings and its learned follower; `scripted`: a
 * scripted controller's name and options).
 */
export const POLICY_FORMAT = 'embody.policy/2';
/** The format today's MLP learners wrote before v2; read by legacy.ts. */
export const POLICY_FORMAT_V1 = 'embody.policy/1';

const BoxJSONSchema = z.strictObject({
  kind: z.literal('box'),
  shape: z.array(z.number().int().nonnegative()),
  low: z.array(z.number()),
  high: z.array(z.number()),
});
const DiscreteJSONSchema = z.strictObject({ kind: z.literal('discrete'), n: z.number().int().positive() });
export const SpaceJSONSchema = z.discriminatedUnion('kind', [BoxJSONSchema, DiscreteJSONSchema]);
export type SpaceJSONManifest = z.infer<typeof SpaceJSONSchema>;

/**
 * How the network's output becomes an action:
 * - `tanh-gaussian-mean`: outputs [mean(A), logStd(A)]; action = tanh(mean) (SAC's deterministic action)
 * - `gaussian-mean`: outputs [mean(A), ...]; action = clip(mean, −1, 1) (PPO, Box)
 * - `categorical-argmax`: outputs logits(n); action = argmax (PPO, Discrete)
 * - `q-argmax`: outputs Q(n); action = argmax (DQN)
 */
export const PolicyHeadSchema = z.enum(['tanh-gaussian-mean', 'gaussian-mean', 'categorical-argmax', 'q-argmax']);
export type PolicyHead = z.infer<typeof PolicyHeadSchema>;

/** A running normaliser (SB3 VecNormalize): z = clip((x − mean)/√(var + ε), −clip, clip). */
export const RunningNormalizationSchema = z.strictObject({
  kind: z.literal('running'),
  count: z.number().nonnegative(),
  mean: z.array(z.number()),
  var: z.array(z.number().nonnegative()),
  clip: z.number().positive(),
  epsilon: z.number().positive(),
});
/** A fixed standardisation from a dataset (the decision transformer): z = (x − mean)/std. */
export const StandardNormalizationSchema = z.strictObject({
  kind: z.literal('standard'),
  mean: z.array(z.number()),
  std: z.array(z.number().positive()),
});
export const NormalizationSchema = z.discriminatedUnion('kind', [RunningNormalizationSchema, StandardNormalizationSchema]);
export type ObservationNormalization = z.infer<typeof NormalizationSchema>;

/** Box only: the policy's [−1, 1] output maps affinely to [low, high]; null means identity. */
const ActionScalingSchema = z.strictObject({ low: z.array(z.number()), high: z.array(z.number()) });

/** A file name inside the policy directory (no folders: deployments send a flat list). */
const FileName = z.string().regex(/^[A-Za-z0-9._-]+$/, 'a plain file name in the policy directory').refine((f) => f !== 'manifest.json', 'manifest.json is the manifest itself');

/**
 * One export of the policy (controllers/export): an ONNX graph with the observation
 * normalisation and action scaling inside, its input and output names, and when it was made.
 */
export const PolicyExportSchema = z.strictObject({
  format: z.literal('onnx'),
  opset: z.number().int().positive(),
  inputs: z.array(z.string().min(1)).min(1),
  outputs: z.array(z.string().min(1)).min(1),
  packageVersion: z.string(),
  createdAt: z.string(),
});
export type PolicyExport = z.infer<typeof PolicyExportSchema>;

/**
 * What a robot needs, besides the weights, to build observations and bound commands: the task
 * model's limits, the control period and time limit, and the scene configuration the TaskModel
 * is built from (devices, map, workspace: the observation layout).
 */
export const TaskParamsSchema = z.strictObject({
  limits: z.strictObject({
    setpoint: z.record(z.string(), z.tuple([z.number(), z.number()])),
    rate: z.record(z.string(), z.number()).optional(),
    geofence: z.array(z.number()).optional(),
  }),
  controlPeriod: z.number().positive(),
  maxEpisodeSteps: z.number().int().positive(),
  sceneConfig: z.record(z.string(), z.unknown()).nullable(),
});
export type TaskParams = z.infer<typeof TaskParamsSchema>;

/** An MLP: the network as data, its tfjs files, and its head. */
export const MlpSectionSchema = z.strictObject({
  head: PolicyHeadSchema,
  network: NetworkSpecSchema,
  /** tfjs layers-model files (tf.loadLayersModel reads them); weights.bin is the raw float32 weights in weightShapes() order. */
  model: z.strictObject({ topology: FileName, weights: FileName }),
});

const common = {
  format: z.literal(POLICY_FORMAT),
  /** Controller kind: sac, stac, ppo, dqn, dt, crdt, manip-critic, nav-learned-critic... */
  kind: z.string().min(1),
  taskId: z.string().min(1),
  /** Scene trained on (the default scene of `embody eval`). */
  scene: z.string().optional(),
  /** The spaces the policy reads and writes; loadPolicy refuses a task whose spaces differ. */
  observationSpace: SpaceJSONSchema,
  actionSpace: SpaceJSONSchema,
  /** Frozen observation normalisation applied before the network, or null (raw observations). */
  observationNormalization: NormalizationSchema.nullable(),
  actionScaling: ActionScalingSchema.nullable(),
  /** The task model's parameters; null only in artifacts converted without their scene. */
  task: TaskParamsSchema.nullable(),
  trainingRunId: z.string().nullable(),
  packageVersion: z.string(),
  createdAt: z.string(),
  /** sha256 (hex) of every other file in the directory. */
  files: z.record(FileName, z.string().regex(/^[0-9a-f]{64}$/)),
  /**
   * Files in `files` that are exports of this policy for other runtimes (`embody export`:
   * `policy.onnx`), with what a reader needs to run them. Loaders check their sha256 like any
   * listed file and never read them; absent in artifacts that were never exported.
   */
  exports: z.record(FileName, PolicyExportSchema).optional(),
  /** Anything else the learner wants to keep (hyper-parameters, eval return). */
  extra: z.record(z.string(), z.unknown()).optional(),
};

export const MlpManifestSchema = z.strictObject({ ...common, runtime: z.literal('mlp'), mlp: MlpSectionSchema });

export const DtManifestSchema = z.strictObject({
  ...common,
  runtime: z.literal('dt'),
  dt: z.strictObject({
    /** The DtConfig it was trained with (LoRA rank included; adapters are merged at load). */
    config: z.record(z.string(), z.unknown()),
    rtgScale: z.number().positive(),
    /** Return-to-go it conditions on at the start of an episode, reward units. */
    targetReturn: z.number(),
    /** Parameter order in `weights` (raw float32, concatenated). */
    params: z.array(z.strictObject({ name: z.string(), size: z.number().int().nonnegative() })),
    weights: FileName,
    stats: z.record(z.string(), z.unknown()).optional(),
  }),
});

export const ManipCriticManifestSchema = z.strictObject({
  ...common,
  runtime: z.literal('manip-critic'),
  manipCritic: z.strictObject({
    /** JSON {critic, coordinator}: name → {shape, values}. */
    weights: FileName,
    /** Heightmap pixels per side and rotations the critic was trained for. */
    P: z.number().int().positive(),
    R: z.number().int().positive(),
    coordinatorFitted: z.boolean(),
  }),
});

/** The learned low level of the navigation composite: an MLP reading the waypoint observation. */
export const LearnedFollowerSchema = z.strictObject({
  kind: z.literal('learned'),
  /** The follower's own kind (sac...) and spaces: lidar + waypoint in the robot frame + speeds. */
  policyKind: z.string().min(1),
  observationSpace: SpaceJSONSchema,
  actionSpace: SpaceJSONSchema,
  observationNormalization: NormalizationSchema.nullable(),
  actionScaling: ActionScalingSchema.nullable(),
  trainingRunId: z.string().nullable(),
  scene: z.string().optional(),
  mlp: MlpSectionSchema,
});

export const NavCompositeManifestSchema = z.strictObject({
  ...common,
  runtime: z.literal('nav-composite'),
  navigation: z.strictObject({
    /** Closed-loop critic (corrective nodes, replans) on or off. */
    critic: z.boolean(),
    /** Distance along the planned path to the follower's waypoint, m. */
    lookahead: z.number().positive(),
    follower: z.discriminatedUnion('kind', [z.strictObject({ kind: z.literal('pure-pursuit') }), LearnedFollowerSchema]),
  }),
});

/** A scripted controller by name (controllers/registry.ts SCRIPTED), so that it deploys like any policy. */
export const ScriptedManifestSchema = z.strictObject({
  ...common,
  runtime: z.literal('scripted'),
  scripted: z.strictObject({ name: z.string().min(1), options: z.record(z.string(), z.string()) }),
});

export const PolicyManifestSchema = z
  .discriminatedUnion('runtime', [MlpManifestSchema, DtManifestSchema, ManipCriticManifestSchema, NavCompositeManifestSchema, ScriptedManifestSchema])
  .superRefine((m, ctx) => {
    // An export is a file of the artifact: listed, so its sha256 is checked wherever the files are.
    for (const f of Object.keys(m.exports ?? {})) if (!(f in m.files)) ctx.addIssue({ code: 'custom', path: ['exports', f], message: `export ${f} is not listed in files` });
  });
export type PolicyManifest = z.infer<typeof PolicyManifestSchema>;
export type MlpManifest = z.infer<typeof MlpManifestSchema>;
export type DtManifest = z.infer<typeof DtManifestSchema>;
export type ManipCriticManifest = z.infer<typeof ManipCriticManifestSchema>;
export type NavCompositeManifest = z.infer<typeof NavCompositeManifestSchema>;
export type ScriptedManifest = z.infer<typeof ScriptedManifestSchema>;
export type PolicyRuntime = PolicyManifest['runtime'];
export type MlpSection = z.infer<typeof MlpSectionSchema>;

/** The v1 manifest (MLP only), kept to read artifacts written before v2. */
export const PolicyManifestV1Schema = z.strictObject({
  format: z.literal(POLICY_FORMAT_V1),
  kind: z.string().min(1),
  taskId: z.string().min(1),
  scene: z.string().optional(),
  observationSpace: SpaceJSONSchema,
  actionSpace: SpaceJSONSchema,
  observationNormalization: RunningNormalizationSchema.omit({ kind: true }).nullable(),
  head: PolicyHeadSchema,
  actionScaling: ActionScalingSchema.nullable(),
  network: NetworkSpecSchema,
  model: z.strictObject({ topology: z.literal('model.json'), weights: z.literal('weights.bin') }),
  trainingRunId: z.string().nullable(),
  packageVersion: z.string(),
  createdAt: z.string(),
  files: z.record(z.string(), z.string().regex(/^[0-9a-f]{64}$/)),
  extra: z.record(z.string(), z.unknown()).optional(),
});
export type PolicyManifestV1 = z.infer<typeof PolicyManifestV1Schema>;
