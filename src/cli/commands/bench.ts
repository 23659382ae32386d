import type { Command } from 'commander';

/**
 * `embody bench [suite]`: each suite is a module bench/<suite>.ts exporting
 * `runBench(options)`, which prints a table and writes bench/results/<date>-<suite>.json.
 *
 * A plugin point, the one computed import of the CLI: the suite is loaded from the checkout's
 * bench/ by its name. bench/ sits above the CLI in the layers and is not part of the installed
 * package (package.json `files`, tsconfig.build.json), so the CLI cannot import it, statically or
 * by a literal path; and nothing above the CLI could inject it but bin/embody.js, plain JS that
 * tsc and the architecture check do not read, which would hide the edge rather than remove it.
 * What keeps it honest: the name must be a key of BENCH_SUITES, and bench/architecture.test.ts
 * checks that every key has its bench/<suite>.ts exporting runBench.
 */
export const BENCH_SUITES: Record<string, string> = {
  env: 'Rapier steps/s per scene, env control steps/s (1 env and VectorEnv of 8), and where step time goes',
  learners: 'SAC/STAC updates/s (and, with --peer, the PyTorch peer interleaved), PPO env steps/s, policy inference latency',
  bridge: 'MQTT state→cmd round trip through Mosquitto, and robots per bridge process',
  manipulation: 'manipulation world: Rapier steps/s of the clutter scene, seconds and physics steps per push/grasp, heightmap ms',
  dt: 'decision-transformer inference latency per action at K = 20, with and without the KV cache',
  baselines: 'scripted UAV baselines (hover, greedy, tour) on every UAV scene, 5 episodes from seed 0 and 10 from seed 1000',
  sweep: 'job layer: per-job BullMQ queue overhead (enqueue → start → result back, ms) on a local redis-server, files through Redis MiB/s',
  'rapier-builds': 'Rapier builds (project, compat 0.21/0.20, simd-compat 0.20) on every scene, one child process each: physics steps/s, env steps/s, bit-identity run to run',
  viewer: 'MCAP recording overhead, live frame bytes/s, page fps under SwiftShader (needs chromium)',
};

export function register(program: Command): void {
  program
    .command('bench')
    .description('measure speed; suites: ' + Object.keys(BENCH_SUITES).join(', '))
    .argument('[suite]', 'which suite to run', 'env')
    .option('--quick', 'shorter runs, for a smoke check')
    .option('--out <dir>', 'where to write the JSON result', 'bench/results')
    .option('--peer', 'learners: also run the PyTorch peer (SAC update), interleaved with ours')
    .option('--peer-script <path>', 'learners: the peer script (default ../shared/peers/sac_update_torch.py beside the repo)')
    .option('--python <path>', 'learners: the Python that has torch', '/usr/bin/python3')
    .action(async (suite: string, opts: { quick?: boolean; out: string; peer?: boolean; peerScript?: string; python: string }) => {
      if (!(suite in BENCH_SUITES)) throw new Error(`unknown bench suite "${suite}". Known: ${Object.keys(BENCH_SUITES).join(', ')}`);
      const { existsSync } = await import('node:fs');
      const path = await import('node:path');
      const { pathToFileURL } = await import('node:url');
      const { PACKAGE_ROOT } = await import('../../core/package.js');
      const file = path.join(PACKAGE_ROOT, 'bench', `${suite}.ts`);
      if (!existsSync(file)) throw new Error(`embody bench runs in a source checkout: ${file} is not here (bench/ is not part of the installed package)`);
      const mod = (await import(pathToFileURL(file).href)) as { runBench(o: { quick: boolean; outDir: string; peer?: { script?: string; python: string } }): Promise<unknown> };
      await mod.runBench({ quick: !!opts.quick, outDir: opts.out, peer: opts.peer ? { script: opts.peerScript, python: opts.python } : undefined });
    });
}
