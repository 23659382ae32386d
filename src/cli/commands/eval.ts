import type { Command } from 'commander';
import { addControllerOptions, parseControllerOptions } from '../controller-options.js';

/**
 * `embody eval <policyDir> <scene> --episodes N`: run a policy artifact deterministically and
 * print mean ± std of return, length and the task's metrics.
 */
export function register(program: Command): void {
  const cmd = program
    .command('eval')
    .description('evaluate a policy artifact on a scene: mean ± std of return, length and task metrics')
    .argument('<policy>', 'policy directory (runs/<id>/policy)')
    .argument('[scene]', 'scene name or path (default: the scene the policy was trained on)')
    .option('-n, --episodes <n>', 'number of episodes', '10')
    .option('-s, --seed <s>', 'seed of the first episode; episode i uses seed + i', '1000')
    .option('--json', 'print the summary as JSON');
  addControllerOptions(cmd)
    .action(async (policyDir: string, sceneArg: string | undefined, opts: { episodes: string; seed: string; json?: boolean; controllerOpt?: string[] }) => {
      const { loadPolicy, readPolicyManifest } = await import('../../../controllers/policy/index.js');
      const { createEnv } = await import('../../../sim/registry.js');
      const { runEpisodes, summarise, formatSummary } = await import('../../experiment/rollout.js');
      const episodes = Number(opts.episodes);
      const seed = Number(opts.seed);
      if (!Number.isInteger(episodes) || episodes <= 0) throw new Error(`--episodes expects a positive integer, got "${opts.episodes}"`);
      if (!Number.isInteger(seed)) throw new Error(`--seed expects an integer, got "${opts.seed}"`);
      const options = parseControllerOptions(opts.controllerOpt);
      const scene = sceneArg ?? (await readPolicyManifest(policyDir).catch(() => null))?.manifest.scene;
      if (!scene) throw new Error('the policy does not name its scene; pass one');
      const env = await createEnv(scene, { seed });
      // The one loader: it refuses a policy whose task or shapes differ from this scene's.
      const { controller, manifest, legacyFormat } = await loadPolicy(policyDir, { spec: env.spec, context: { seed, model: env.model, options } });
      if (legacyFormat) process.stderr.write(`note: ${policyDir} is ${legacyFormat}; \`embody convert ${policyDir}\` rewrites it as ${manifest.format}\n`);
      const t0 = performance.now();
      const results = await runEpisodes({ env, controller, episodes, seed });
      const summary = summarise(results);
      env.close();
      if (opts.json) {
        console.log(JSON.stringify({ policy: policyDir, scene, kind: manifest.kind, episodes, seed, summary }, null, 2));
        return;
      }
      console.log(`${scene} · policy ${policyDir} (${manifest.kind}, run ${manifest.trainingRunId ?? '?'}) · ${episodes} episodes · seed ${seed} · ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      console.log(formatSummary(summary));
    });
}
