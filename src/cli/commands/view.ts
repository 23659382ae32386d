import type { Command } from 'commander';

/** `embody view`: serve the viewer page (live runs, episode replays, training curves). */
export function register(program: Command): void {
  program
    .command('view')
    .description('serve the three.js viewer: live runs (embody run ... --view), episode replays and training curves')
    .option('--port <port>', 'HTTP port', (v) => Number.parseInt(v, 10), 8080)
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--runs <dir>', 'directory of run directories', 'runs')
    .action(async (opts: { port: number; host: string; runs: string }) => {
      const { startViewerServer } = await import('../../viewer/server.js');
      // Telemetry mode draws a robot's state in its scene: build scenes here, where sim/ may be imported.
      const describeScene = async (name: string) => {
        const { createEnv } = await import('../../../sim/registry.js');
        const env = await createEnv(name, { seed: 0 });
        try {
          return env.describe();
        } finally {
          env.close();
        }
      };
      const server = await startViewerServer({ port: opts.port, host: opts.host, runsDir: opts.runs, describeScene });
      console.log(`embody viewer at ${server.url}`);
      console.log(`  live     ${server.url}?mode=live      (start a run with --view ${server.port} to stream to it)`);
      console.log(`  replay   ${server.url}?mode=replay    (episodes recorded with --record under ${opts.runs}/)`);
      console.log(`  runs     ${server.url}?mode=runs      (metrics.jsonl curves)`);
      console.log(`  robot    ${server.url}?mode=telemetry&url=ws://localhost:8883&robot=<id>&scene=<scene>  (MQTT state, read-only)`);
      const stop = async () => {
        await server.close();
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
