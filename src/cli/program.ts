import { Command } from 'commander';
import { PACKAGE_VERSION } from '../core/package.js';
import * as agentCommand from './commands/agent.js';
import * as benchCommand from './commands/bench.js';
import * as bridgeCommand from './commands/bridge.js';
import * as collectCommand from './commands/collect.js';
import * as convertCommand from './commands/convert.js';
import * as doctorCommand from './commands/doctor.js';
import * as evalCommand from './commands/eval.js';
import * as exportCommand from './commands/export.js';
import * as plotCommand from './commands/plot.js';
import * as rerunCommand from './commands/rerun.js';
import * as runCommand from './commands/run.js';
import * as runsCommand from './commands/runs.js';
import * as scenesCommand from './commands/scenes.js';
import * as sim_deviceCommand from './commands/sim-device.js';
import * as sweepCommand from './commands/sweep.js';
import * as trainCommand from './commands/train.js';
import * as train_offlineCommand from './commands/train-offline.js';
import * as triageCommand from './commands/triage.js';
import * as viewCommand from './commands/view.js';
import * as workerCommand from './commands/worker.js';

/**
 * The `embody` command. Each subcommand lives in src/cli/commands/<name>.ts, exports
 * `register(program)` and is listed in COMMANDS by a static import (so tsc and the architecture
 * test see it); heavy imports (Rapier, tfjs, mqtt) happen inside the actions, so `embody --help`
 * stays fast.
 */
const COMMANDS: { register(program: Command): void }[] = [
  agentCommand, benchCommand, bridgeCommand, collectCommand, convertCommand, doctorCommand, evalCommand, exportCommand, plotCommand, rerunCommand, runCommand, runsCommand, scenesCommand, sim_deviceCommand, sweepCommand, trainCommand, train_offlineCommand, triageCommand, viewCommand, workerCommand,
];

export async function buildProgram(): Promise<Command> {
  const program = new Command('embody')
    .description('Embodied simulation and control: Rapier worlds, TensorFlow.js controllers, one policy in sim and on hardware over MQTT.')
    .version(PACKAGE_VERSION)
    .showHelpAfterError();
  for (const c of COMMANDS) c.register(program);
  return program;
}
