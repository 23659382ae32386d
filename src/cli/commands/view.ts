import type { Command } from 'commander';

/** `embody view`: serve the viewer page (live runs, episode replays, training curves). */
export function register(program: Command): void {
  program
    .command('view')
    .description('serve the three.js viewer: live runs (embody run ... --view), episode replays and training curves')
    .option('--port <port>', 'HTTP port', (v) => Number.parseInt(v, 10), 8080)
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--runs <dir>', 'directory of run directories', 'runs')
    .option('--allowed-host <name>', 'a host name the viewer answers to besides localhost and IP addresses (repeat; DNS-rebinding guard)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--allowed-origin <origin>', 'a page origin allowed to open the viewer\'s WebSockets besides the viewer itself (repeat)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .action(async (opts: { port: number; host: string; runs: string; allowedHost: string[]; allowedOrigin: string[] }) => {
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
      const server = await startViewerServer({ port: opts.port, host: opts.host, runsDir: opts.runs, describeScene, allowedHosts: opts.allowedHost, allowedOrigins: opts.allowedOrigin });
      console.log(`embody viewer at ${server.url}`);
      console.log(`  live     ${server.url}?mode=live      (start a run with --view ${server.port} to stream to it)`);
      console.log(`  replay   ${server.url}?mode=replay    (episodes recorded with --record under ${opts.runs}/)`);
      console.log(`  runs     ${server.url}?mode=runs      (metrics.jsonl curves)`);
      console.log(`  robot    ${server.url}?mode=telemetry&url=ws://localhost:8883&robot=<id>&scene=<scene>  (MQTT state, read-only)`);
      // Exit within 2 s of SIGINT/SIGTERM, even if a client keeps its socket open.
      const stop = async () => {
        setTimeout(() => process.exit(0), 1500).unref();
        await server.close();
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
