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
      const { evaluatePolicyDir } = await import('../../experiment/evaluate-policy.js');
      const { formatSummary } = await import('../../experiment/rollout.js');
      const { formatDuration } = await import('../../core/format.js');
      const { episodes, seed } = parseEpisodeOptions(opts);
      const options = parseControllerOptions(opts.controllerOpt);
      const r = await evaluatePolicyDir({ policy: policyArg, scene: sceneArg, episodes, seed, options, out: opts.out, onLoaded: (l) => {
        if (l.legacyFormat) process.stderr.write(`note: ${l.policyDir} is ${l.legacyFormat}; \`embody convert ${l.policyDir}\` rewrites it as ${l.manifest.format}\n`);
      } });
      const { policyDir, scene, manifest, summary, out } = r;
      if (opts.json) {
        console.log(JSON.stringify({ policy: policyDir, scene, kind: manifest.kind, episodes, seed, summary }, null, 2));
        return;
      }
      console.log(`${scene} · policy ${policyDir} (${manifest.kind}, run ${manifest.trainingRunId ?? '?'}) · ${episodes} episodes · seeds ${seed}–${seed + episodes - 1} · ${formatDuration(r.seconds)}`);
      console.log(formatSummary(summary));
      console.log(`wrote ${out}`);
    });
}
