import type { Command } from 'commander';
import { addControllerOptions, parseControllerOptions } from '../controller-options.js';
import { addEpisodeOptions, parseEpisodeOptions } from '../options.js';

/**
 * `embody eval <policy|run> [scene] -n N -s S`: run a policy artifact deterministically, print
 * mean ± population std of return, length and the task's metrics, and write them to eval.json
 * (in the run directory when given one, else beside the policy; `--out` names another file).
 */
export function register(program: Command): void {
  const cmd = program
    .command('eval')
    .description('evaluate a policy artifact on a scene: mean ± std of return, length and task metrics; writes eval.json')
    .argument('<policy>', 'policy directory, or a run (runs/<id>, runs/latest, an id prefix: its policy/)')
    .argument('[scene]', 'scene name or path (default: the scene the policy was trained on)');
  addControllerOptions(addEpisodeOptions(cmd))
    .option('-o, --out <file>', 'where the figures go (default: <run>/eval.json, or eval.json beside the policy)')
    .option('--json', 'print the summary as JSON')
    .action(async (policyArg: string, sceneArg: string | undefined, opts: { episodes: string; seed: string; json?: boolean; out?: string; controllerOpt?: string[] }) => {
      const path = await import('node:path');
      const { existsSync } = await import('node:fs');
      const { loadPolicy, readPolicyManifest } = await import('../../../controllers/policy/index.js');
      const { createEnv } = await import('../../../sim/registry.js');
      const { runEpisodes, summarise, formatSummary } = await import('../../experiment/rollout.js');
      const { resolveRunDir } = await import('../../experiment/run-index.js');
      const { writeJsonAtomic } = await import('../../core/atomic.js');
      const { formatDuration } = await import('../../core/format.js');
      const { episodes, seed } = parseEpisodeOptions(opts);
      // A run directory (or runs/latest, or a prefix) stands for its policy/.
      const isArtifact = existsSync(path.join(policyArg, 'manifest.json')) || existsSync(path.join(policyArg, 'dt.json'));
      const runDir = isArtifact ? null : resolveRunDir(policyArg);
      const policyDir = runDir ? path.join(runDir, 'policy') : policyArg;
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
      const out = opts.out ?? path.join(runDir ?? path.dirname(path.resolve(policyDir)), 'eval.json');
      const record = { policy: path.resolve(policyDir), scene, kind: manifest.kind, episodes, seed, std: 'population', summary, episodesDetail: results };
      writeJsonAtomic(out, record);
      if (opts.json) {
        console.log(JSON.stringify({ policy: policyDir, scene, kind: manifest.kind, episodes, seed, summary }, null, 2));
        return;
      }
      console.log(`${scene} · policy ${policyDir} (${manifest.kind}, run ${manifest.trainingRunId ?? '?'}) · ${episodes} episodes · seeds ${seed}–${seed + episodes - 1} · ${formatDuration((performance.now() - t0) / 1000)}`);
      console.log(formatSummary(summary));
      console.log(`wrote ${out}`);
    });
}
