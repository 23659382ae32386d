import type { Command } from 'commander';
import { addControllerOptions, parseControllerOptions } from '../controller-options.js';
import { addMqttOptions } from '../mqtt-options.js';
import { addAlias, controllerRef, DEFAULT_SCENE } from '../options.js';

/**
 * `embody bridge`: the MQTT ground station (hardware/bridge.ts). Without --broker it starts
 * an embedded aedes broker on loopback; with --sim n it also runs n simulated robots.
 */
export function register(program: Command): void {
  const cmd = program
    .command('bridge')
    .description('ground station: robot state → TaskModel observation → policy → safety → cmd, over MQTT')
    .option('--broker <url>', 'MQTT broker URL (mqtt://, mqtts://, ws://, wss://); default: start an embedded broker on 127.0.0.1')
    .option('--robot <id>', "robot id to serve (repeat for several; a glob such as 'uav-*'; '*' = every robot)", (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('-c, --controller <dir|name>', "policy directory, run directory (its policy/) or scripted controller name (default: the task's baseline)")
    .option('--scene <scene>', 'scene whose TaskModel builds observations and limits', DEFAULT_SCENE)
    .option('--ttl <ms>', 'command time-to-live: the robot holds if no newer command arrives in time', '250')
    .option('--deploy', 'send the policy to each --robot agent over MQTT, wait for its ack, and exit')
    .option('--estop <reason>', 'engage the latched e-stop of each --robot, and exit')
    .option('--release <reason>', 'release the e-stop of each --robot, and exit')
    .option('--sim <n>', 'also run n simulated robots (sim-0 … sim-n-1) in this process')
    .option('--seed <s>', 'with --sim: seed of robot sim-i is seed + 1000·i', '0')
    .option('--episodes <n>', 'exit after n episodes per robot')
    .option('--broker-port <port>', 'embedded broker port', '1883')
    .option('--ws-port <port>', 'embedded broker: also serve MQTT over WebSocket on this port')
    .option('--ws-origin <origin>', 'embedded broker: a browser origin allowed on the WebSocket (repeat; default: pages from this machine only)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--max-robots-per-glob <n>', 'serve at most n robots per --robot glob; ids beyond it are refused and reported', '1024')
    .option('--no-tcp-nodelay', "leave Nagle's algorithm on (only to measure its effect)")
    .option('--json', 'print each episode summary as JSON');
  addControllerOptions(cmd);
  addMqttOptions(cmd, '$EMBODY_MQTT_USERNAME, or "bridge" with a password')
    .action(async (opts) => {
      const { runBridgeCommand } = await import('../../../hardware/cli.js');
      const { loadScene, baselineOf } = await import('../../../sim/registry.js');
      // hardware/cli.ts reads `policy` and `port`: the one spelling here is -c/--controller and --broker-port.
      const policy = await controllerRef(opts.controller ?? baselineOf(loadScene(opts.scene).scene));
      await runBridgeCommand({ ...opts, policy, port: opts.brokerPort, controllerOptions: parseControllerOptions(opts.controllerOpt) });
    });
  addAlias(cmd, '--policy <dir|name>', 'controller', '-c/--controller');
  addAlias(cmd, '--port <port>', 'brokerPort', '--broker-port');
}
