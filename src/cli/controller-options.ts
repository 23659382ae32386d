import type { Command } from 'commander';

/**
 * `--controller-opt key=value` (repeatable): options for the controller factory
 * (ControllerContext.options), e.g. `policy=<dir>` and `lookahead=1.2` for nav-learned, or
 * `targetReturn=40` for a decision transformer. Controllers get their options only this way.
 */
export function addControllerOptions(cmd: Command): Command {
  return cmd.option('--controller-opt <key=value>', 'controller option, repeatable (e.g. policy=<dir>, lookahead=1.0, targetReturn=40)', collectOption, [] as string[]);
}

function collectOption(v: string, acc: string[]): string[] {
  return [...acc, v];
}

/** `["a=1", "b=x"]` → `{a: "1", b: "x"}`; a malformed entry is an error naming it. */
export function parseControllerOptions(list: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list ?? []) {
    const i = item.indexOf('=');
    if (i <= 0) throw new Error(`--controller-opt "${item}": expected key=value`);
    out[item.slice(0, i)] = item.slice(i + 1);
  }
  return out;
}
