import type { Command } from 'commander';

/**
 * `embody convert <dir>`: rewrite a policy artifact of an older format (`embody.policy/1`
 * manifest, decision-transformer `dt.json`, manipulation `agent.json`) as `embody.policy/2`,
 * atomically. The scene (--scene, else the one the artifact names) gives the task parameters
 * the manifest records, and the spaces of an agent.json, which names none.
 */
export function register(program: Command): void {
  program
    .command('convert')
    .description('rewrite an older policy artifact (embody.policy/1, dt.json, agent.json) as embody.policy/2, atomically')
    .argument('<dir>', 'policy directory')
    .option('-o, --out <dir>', 'write the converted artifact here instead of replacing <dir>')
    .option('--scene <scene>', 'scene the policy runs on (default: the one it names)')
    .option('--compose <kind>', 'wrap a navigation waypoint policy into a navigation composite for --scene: nav-learned or nav-learned-critic (needs --out)')
    .option('--lookahead <m>', 'with --compose: distance to the follower\'s waypoint along the path, m', '1.0')
    .action(async (dir: string, opts: { out?: string; scene?: string; compose?: string; lookahead: string }) => {
      const { convertPolicy, readPolicyManifest } = await import('../../../controllers/policy/index.js');
      const { createEnv, loadScene } = await import('../../../sim/registry.js');
      if (opts.compose) return compose(dir, opts);
      let sceneRef = opts.scene;
      if (!sceneRef) sceneRef = (await readPolicyManifest(dir).catch(() => null))?.manifest.scene;
      let target;
      let task = null;
      if (sceneRef) {
        const { scene } = loadScene(sceneRef);
        const env = await createEnv(scene, { seed: 0 });
        target = env.spec;
        task = env.taskParams(scene);
        env.close();
      }
      const { manifest, from } = await convertPolicy(dir, { out: opts.out, target, task });
      const out = opts.out ?? dir;
      if (from === manifest.format && out === dir) console.log(`${dir}: already ${manifest.format} (runtime ${manifest.runtime}); nothing to do`);
      else console.log(`${out}: ${from} → ${manifest.format} (runtime ${manifest.runtime}, ${manifest.kind}, task ${manifest.taskId}, observation [${manifest.observationSpace.kind === 'box' ? manifest.observationSpace.shape.join(', ') : 'discrete'}])${task ? '' : ' — no scene, so no task parameters'}`);
    });
}

/** `--compose`: planner (+ critic) + the waypoint policy in `dir` as one nav-composite artifact. */
async function compose(dir: string, opts: { out?: string; scene?: string; compose?: string; lookahead: string }): Promise<void> {
  if (opts.compose !== 'nav-learned' && opts.compose !== 'nav-learned-critic') throw new Error(`--compose must be nav-learned or nav-learned-critic, got "${opts.compose}"`);
  if (!opts.out || !opts.scene) throw new Error('--compose needs --out <dir> and --scene <navigation scene>');
  const lookahead = Number(opts.lookahead);
  if (!(lookahead > 0)) throw new Error(`--lookahead expects a positive number, got "${opts.lookahead}"`);
  const { createEnv, loadScene } = await import('../../../sim/registry.js');
  const { saveNavComposite } = await import('../../../controllers/planning/composite.js');
  const { scene } = loadScene(opts.scene);
  const env = await createEnv(scene, { seed: 0 });
  if (env.spec.id !== 'navigation') throw new Error(`--compose needs a navigation scene; ${opts.scene} is ${env.spec.id}`);
  const manifest = await saveNavComposite(opts.out, {
    followerDir: dir,
    critic: opts.compose === 'nav-learned-critic',
    lookahead,
    spec: env.spec,
    model: env.model as import('../../../sim/navigation/model.js').NavModel,
    task: env.taskParams(scene),
  });
  env.close();
  console.log(`${opts.out}: ${manifest.format} nav-composite ${manifest.kind} for ${scene.name} (observation [${env.spec.observationSpace.size}]; follower ${dir} reads [${manifest.navigation.follower.kind === 'learned' && manifest.navigation.follower.observationSpace.kind === 'box' ? manifest.navigation.follower.observationSpace.shape.join(', ') : ''}])`);
}
