import { describeError } from '../core/errors.js';
import { buildProgram } from './program.js';

/** The `embody` executable: build the command tree (src/cli/program.ts), parse argv, print errors for people. */
async function main(): Promise<void> {
  const program = await buildProgram();
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    process.stderr.write(`embody: ${describeError(err)}\n`);
    process.exitCode = process.exitCode || 1;
  }
}

await main();
