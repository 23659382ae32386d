import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { ValidationError } from '../core/errors.js';

/**
 * The option grammar every command shares, so that one spelling means one thing:
 * - a scene argument defaults to DEFAULT_SCENE (run, train, collect);
 * - `-n/--episodes` and `-s/--seed` follow one convention (run and eval): DEFAULT_EPISODES episodes,
 *   episode i reset with seed + i, first seed DEFAULT_SEED (SB3's evaluate_policy runs 10);
 * - `-c/--controller` names a controller, a policy directory or a run directory (its policy/);
 * - `--view` turns on the live viewer, `--port` is the viewer's HTTP port;
 * - `--config <file>` is a JSON file, `--set key=value` overrides one key (rl-zoo's --hyperparams).
 * Old spellings stay as hidden aliases that warn.
 */
export const DEFAULT_SCENE = 'uav-small';
export const DEFAULT_EPISODES = '10';
export const DEFAULT_SEED = '0';
export const DEFAULT_VIEWER_PORT = 8080;

export function intOption(value: string, name: string, options: { min?: number } = {}): number {
  const n = Number(value);
  const min = options.min;
  if (!Number.isInteger(n) || (min !== undefined && n < min)) {
    const what = min === 1 ? 'a positive integer' : min === 0 ? 'a non-negative integer' : 'an integer';
    throw new ValidationError(`${name} expects ${what}, got "${value}"`);
  }
  return n;
}

/** More seeds than anyone trains at once: a typo such as 0-10000 is an error, not hours of runs. */
const MAX_SEEDS = 1000;

/** `--seeds 0,1,2`, `--seeds 0-4` or both mixed (`0-2,7`): distinct non-negative integers, in the order given. */
export function parseSeedList(value: string, name = '--seeds'): number[] {
  const bad = (why: string) => new ValidationError(`${name} expects seeds like 0,1,2 or a range 0-4, got "${value}": ${why}`);
  const seeds: number[] = [];
  for (const item of value.split(',').map((p) => p.trim())) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(item);
    if (!m) throw bad(item ? `"${item}" is not a non-negative integer or a range a-b` : 'an empty item');
    const [from, to] = [Number(m[1]), Number(m[2] ?? m[1])];
    if (to < from) throw bad(`the range ${item} runs backwards`);
    if (to - from >= MAX_SEEDS) throw bad(`the range ${item} holds more than ${MAX_SEEDS} seeds`);
    for (let s = from; s <= to; s++) seeds.push(s);
  }
  const repeated = seeds.find((s, i) => seeds.indexOf(s) !== i);
  if (repeated !== undefined) throw bad(`seed ${repeated} is given twice`);
  return seeds;
}

/** `-n/--episodes` and `-s/--seed`, with the shared defaults and help text. */
export function addEpisodeOptions(cmd: Command): Command {
  return cmd
    .option('-n, --episodes <n>', 'number of episodes', DEFAULT_EPISODES)
    .option('-s, --seed <s>', 'seed of the first episode; episode i uses seed + i', DEFAULT_SEED);
}

export function parseEpisodeOptions(opts: { episodes: string; seed: string }): { episodes: number; seed: number } {
  return { episodes: intOption(opts.episodes, '--episodes', { min: 1 }), seed: intOption(opts.seed, '--seed') };
}

/** Say once on stderr that a spelling is old. */
export function warnDeprecated(old: string, now: string): void {
  process.stderr.write(`embody: ${old} is deprecated; use ${now}\n`);
}

/**
 * A hidden old spelling of an option: given, it warns and sets `target` (an attribute name)
 * unless the new spelling was given too.
 */
export function addAlias(cmd: Command, flags: string, target: string, now: string, map: (v: unknown) => unknown = (v) => v): Command {
  const option = new Option(flags).hideHelp();
  cmd.addOption(option);
  cmd.hook('preAction', (_parent, action) => {
    const key = option.attributeName();
    const value = action.getOptionValue(key);
    if (value === undefined) return;
    warnDeprecated(option.long ?? flags, now);
    if (action.getOptionValueSource(target) !== 'cli') action.setOptionValue(target, map(value));
  });
  return cmd;
}

/** A JSON object from a file, with the file named in every error. */
export function readConfigFile(file: string): Record<string, unknown> {
  if (!existsSync(file)) throw new ValidationError(`--config ${file}: no such file`);
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ValidationError(`--config ${file}: invalid JSON: ${(err as Error).message}`, [], { cause: err });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ValidationError(`--config ${file}: expected a JSON object`);
  return value as Record<string, unknown>;
}

/** `--config`: a file; an inline JSON object (the old train-offline form) still works, with a warning. */
export function readConfigArg(value: string | undefined): Record<string, unknown> {
  if (value === undefined) return {};
  if (value.trim().startsWith('{') && !existsSync(value)) {
    warnDeprecated('--config <inline JSON>', '--config <file> or --set key=value');
    try {
      return JSON.parse(value);
    } catch (err) {
      throw new ValidationError(`--config: invalid inline JSON: ${(err as Error).message}`, [], { cause: err });
    }
  }
  return readConfigFile(value);
}

/** Collect repeated `--set key=value`. */
export const collect = (value: string, previous: string[] = []) => [...previous, value];

/**
 * `--set key=value` pairs into an object. A value is JSON when it parses (numbers, booleans,
 * arrays such as `hidden=[64,64]`), else a string; `a.b=1` sets a nested key.
 */
export function parseSetPairs(pairs: string[] = []): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new ValidationError(`--set expects key=value, got "${pair}"`);
    const key = pair.slice(0, eq).trim();
    const raw = pair.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // a plain string, such as lrSchedule=linear
    }
    const parts = key.split('.');
    let node = out;
    for (const part of parts.slice(0, -1)) node = (node[part] = typeof node[part] === 'object' && node[part] !== null ? node[part] : {}) as Record<string, unknown>;
    node[parts.at(-1)!] = value;
  }
  return out;
}

/** The viewer port from `--view` (true, or the old `--view <port>`) and `--port`. */
export function viewerPort(opts: { view?: boolean | string; port?: string }): number | undefined {
  if (opts.view === undefined || opts.view === false) return undefined;
  if (opts.port !== undefined) return intOption(opts.port, '--port', { min: 1 });
  if (typeof opts.view === 'string') {
    warnDeprecated(`--view ${opts.view}`, `--view --port ${opts.view}`);
    return intOption(opts.view, '--view', { min: 1 });
  }
  return DEFAULT_VIEWER_PORT;
}

/** `--view [port]` (the port form is the old spelling) and `--port <port>`. */
export function addViewOptions(cmd: Command, what: string): Command {
  return cmd
    .option('--view [port]', `${what} to the live viewer (an \`embody view\` on --port, else one of its own)`)
    .option('--port <port>', `viewer HTTP port (default ${DEFAULT_VIEWER_PORT})`);
}

/** `runs/<id>` (or `latest`, or a prefix) as given to -c: its policy/; anything else as it is. */
export async function controllerRef(ref: string): Promise<string> {
  const { resolveRunDir } = await import('../experiment/run-index.js');
  if (existsSync(path.join(ref, 'manifest.json')) || existsSync(path.join(ref, 'dt.json'))) return ref;
  if (!ref.includes('/') && !ref.includes(path.sep)) return ref;
  try {
    const dir = resolveRunDir(ref);
    if (existsSync(path.join(dir, 'policy'))) return path.join(dir, 'policy');
  } catch {
    // not a run either: the controller loader names what is wrong
  }
  return ref;
}

/**
 * Check a scripted controller name against the task before anything is built: unknown names
 * get a did-you-mean, and the list names only the controllers this task supports.
 */
export async function checkControllerName(ref: string, taskId: string): Promise<void> {
  const { isPolicyDir } = await import('../../controllers/load.js');
  if (isPolicyDir(ref)) return;
  const { SCRIPTED } = await import('../../controllers/registry.js');
  const { didYouMean } = await import('../core/suggest.js');
  const { NotFoundError } = await import('../core/errors.js');
  const fits = Object.entries(SCRIPTED)
    .filter(([, e]) => e.tasks === '*' || e.tasks.includes(taskId))
    .map(([name]) => name);
  const list = `Controllers for ${taskId}: ${fits.join(', ')}; or a policy directory (runs/<id>/policy)`;
  if (ref.includes('/') || ref.includes(path.sep)) throw new NotFoundError(`no policy at ${ref} (no manifest.json). ${list}`);
  if (!(ref in SCRIPTED)) throw new NotFoundError(`unknown controller "${ref}".${didYouMean(ref, Object.keys(SCRIPTED))} ${list}`);
  if (!fits.includes(ref)) throw new NotFoundError(`controller "${ref}" does not support ${taskId}. ${list}`);
}
