import type { Command } from 'commander';
import { addMqttOptions } from '../mqtt-options.js';

/**
 * `embody agent`: the on-robot runtime (hardware/agent.ts): receives policy deployments,
 * runs inference locally or obeys the ground station's cmd, behind the safety layer.
 */
export function register(program: Command): void {
  const cmd = program
    .command('agent')
    .description('on-robot runtime: policy deployments over MQTT, local inference, watchdog, latched e-stop, a device Driver')
    .option('--broker <url>', 'MQTT broker URL', 'mqtt://127.0.0.1:1883')
    .requiredOption('--robot <id>', 'this robot\'s id (also its broker username by default)')
    .option('--driver <name>', 'device driver (sim = a Rapier world from --scene)', 'sim')
    .option('--scene <scene>', 'scene giving the TaskModel and limits (default: the persisted policy\'s scene)')
    .option('--seed <s>', 'sim driver: seed of the first episode', '0')
    .option('--data-dir <dir>', 'where the policy and e-stop latch persist (default .embody/agent/<id>)')
    .option('--mode <mode>', 'auto (local policy when one is deployed, else obey cmd) | policy | remote', 'auto')
    .option('--land-after <ms>', 'hold this long without a valid cmd, then land/stop', '3000')
    .option('--episodes <n>', 'sim driver: exit after n episodes')
    .option('--fast', 'sim driver in policy mode: step as fast as possible instead of in real time')
    .option('--realtime-hold', 'sim driver: keep simulating in real time while holding, landing or e-stopped (default: frozen until the next cmd)');
  addMqttOptions(cmd, 'the robot id when a password is given')
    .action(async (opts) => {
      const { runAgentCommand } = await import('../../../hardware/cli.js');
      await runAgentCommand(opts);
    });
}
