import type { Command } from 'commander';
import { addMqttOptions } from '../mqtt-options.js';

/**
 * `embody sim-device`: a scene's Rapier world as a robot on the broker. It answers each cmd
 * with the state one control period later (lockstep), so a bridged episode matches
 * `embody run` with the same seed whatever the latency. While holding it stays frozen
 * (or, with --realtime-hold, keeps simulating in real time).
 */
export function register(program: Command): void {
  const cmd = program
    .command('sim-device')
    .description('run a scene as a robot on an MQTT broker: answers cmd with state (lockstep), for tests and demos')
    .option('--broker <url>', 'MQTT broker URL', 'mqtt://127.0.0.1:1883')
    .requiredOption('--robot <id>', 'robot id')
    .option('--scene <scene>', 'scene to simulate', 'uav-small')
    .option('--seed <s>', 'seed of episode 0; episode i uses seed + i, as `embody run` does', '0')
    .option('--episodes <n>', 'exit after n episodes')
    .option('--data-dir <dir>', 'where the e-stop latch persists (default .embody/agent/<id>)')
    .option('--land-after <ms>', 'hold this long without a valid cmd, then land', '3000')
    .option('--realtime-hold', 'sim driver: keep simulating in real time while holding, landing or e-stopped (default: frozen until the next cmd)');
  addMqttOptions(cmd, 'the robot id when a password is given')
    .action(async (opts) => {
      const { runAgentCommand } = await import('../../../hardware/cli.js');
      await runAgentCommand({ ...opts, driver: 'sim', mode: 'remote' });
    });
}
