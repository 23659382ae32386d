import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import type { SceneFigures } from './rapier-builds-child.js';
import { table, writeBenchResult } from './results-io.js';

/**
 * `embody bench rapier-builds`: the project's Rapier against other builds, on every scene under
 * scenes/ (each task kind's real world, built by our own backends, driven by the task's
 * baseline controller). Each (build, repetition) is its own child process, interleaved
 * build by build, so drift in the machine's load spreads over all builds.
 *
 * Per scene and build: physics steps/s inside World.step on the episodes' own trajectories (each
 * step timed at its fastest of the passes that replay it, then the fastest process: other jobs
 * only ever slow a step down), env steps/s (fastest pass, wall clock: load inflates it), and
 * bit-identity: the same seeds played four times in one process, and in every process of that
 * build, hash the same.
 *
 * The other builds are installed apart from the project, under aliases:
 *   npm install --prefix bench/rapier-builds
 * A build that is not installed there is reported as missing, not measured.
 */
const BUILD_DIR = fileURLToPath(new URL('./rapier-builds', import.meta.url));
const CHILD = fileURLToPath(new URL('./rapier-builds-child.ts', import.meta.url));

/** null: the project's own build (sim/rapier.ts, root package.json). */
const BUILDS: { name: string; package: string | null }[] = [
  { name: 'project', package: null },
  { name: 'compat-0.21.0', package: 'rapier-compat-0.21.0' },
  { name: 'compat-0.20.0', package: 'rapier-compat-0.20.0' },
  { name: 'simd-compat-0.20.0', package: 'rapier-simd-compat-0.20.0' },
];

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** name@version of an installed package.json. */
function identity(dir: string): string {
  const p = JSON.parse(readFileSync(`${dir}/package.json`, 'utf8'));
  return `${p.name}@${p.version}`;
}

/** The project's own build: the @dimforge package the root package.json depends on, as installed. */
function projectBuild(): string {
  const deps = JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')).dependencies as Record<string, string>;
  const name = Object.keys(deps).find((d) => d.startsWith('@dimforge/'));
  if (!name) throw new Error('package.json: no @dimforge Rapier dependency');
  return identity(`${ROOT}/node_modules/${name}`);
}

function installed(pkg: string | null): boolean {
  return pkg === null || existsSync(`${BUILD_DIR}/node_modules/${pkg}/package.json`);
}

function runChild(pkg: string | null, episodes: number): { rapierVersion: string; scenes: SceneFigures[] } {
  const stdout = execFileSync(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify({ package: pkg, dir: BUILD_DIR, episodes, scenes: null })], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 2 ** 20,
  });
  const last = stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(last);
}

export async function runBench(opts: { quick: boolean; outDir: string }) {
  const episodes = opts.quick ? 1 : 2;
  const repetitions = opts.quick ? 1 : 2;
  const project = projectBuild();
  // An alias of the very build the project uses is not measured twice.
  const sameAsProject = BUILDS.filter((b) => b.package && installed(b.package) && identity(`${BUILD_DIR}/node_modules/${b.package}`) === project).map((b) => b.name);
  const builds = BUILDS.filter((b) => installed(b.package) && !sameAsProject.includes(b.name));
  const missing = BUILDS.filter((b) => !installed(b.package)).map((b) => b.name);
  if (missing.length) console.log(`not installed (npm install --prefix bench/rapier-builds): ${missing.join(', ')}`);
  console.log(`project build: ${project}${sameAsProject.length ? ` (= ${sameAsProject.join(', ')}, not measured twice)` : ''}`);
  const loadBefore = os.loadavg();
  const runs = new Map<string, { rapierVersion: string; scenes: SceneFigures[] }[]>();
  for (let rep = 0; rep < repetitions; rep++) {
    for (const b of builds) {
      process.stderr.write(`rapier-builds: ${b.name}, repetition ${rep + 1}/${repetitions}\n`);
      const r = runChild(b.package, episodes);
      runs.set(b.name, [...(runs.get(b.name) ?? []), r]);
    }
  }
  const loadAfter = os.loadavg();

  const rows: Record<string, string | number>[] = [];
  const figures: Record<string, unknown>[] = [];
  for (const b of builds) {
    const reps = runs.get(b.name)!;
    for (const [i, first] of reps[0].scenes.entries()) {
      const all = reps.map((r) => r.scenes[i]);
      const hashes = all.flatMap((s) => s.hashes);
      const physicsSeconds = Math.min(...all.map((s) => s.physicsSeconds));
      const wallSeconds = Math.min(...all.flatMap((s) => s.wallSeconds));
      const fig = {
        build: b.name,
        rapierVersion: reps[0].rapierVersion,
        scene: first.scene,
        task: first.task,
        controller: first.controller,
        episodes,
        envSteps: first.envSteps,
        physicsSteps: first.physicsSteps,
        physicsStepsPerSec: first.physicsSteps > 0 ? first.physicsSteps / physicsSeconds : null,
        envStepsPerSec: first.envSteps > 0 ? first.envSteps / wallSeconds : null,
        physicsShare: first.physicsSteps > 0 ? physicsSeconds / wallSeconds : 0,
        passPhysicsSeconds: all.map((s) => s.passPhysicsSeconds),
        identicalInProcess: all.every((s) => s.hashes.length > 1 && s.hashes.every((h) => h === s.hashes[0])),
        identicalAcrossProcesses: hashes.length > 0 && hashes.every((h) => h === hashes[0]),
        sameStepCountAcrossProcesses: all.every((s) => s.physicsSteps === first.physicsSteps && s.envSteps === first.envSteps),
        hash: hashes[0] ?? null,
        error: first.error,
      };
      figures.push(fig);
    }
  }
  // Speed relative to the project's build, scene by scene, for the table.
  const base = new Map(figures.filter((f) => f.build === 'project').map((f) => [f.scene, f]));
  for (const f of figures) {
    const p = base.get(f.scene as string);
    const ratio = p && f.physicsStepsPerSec && p.physicsStepsPerSec ? (f.physicsStepsPerSec as number) / (p.physicsStepsPerSec as number) : null;
    f.physicsSpeedupOverProject = ratio;
    f.sameEpisodesAsProject = p ? f.hash === p.hash : null;
    if (f.physicsSteps === 0) continue;
    rows.push({
      build: f.build as string,
      scene: f.scene as string,
      rapierStepsPerSec: (f.physicsStepsPerSec as number) ?? 0,
      speedup: ratio ?? 0,
      envStepsPerSec: (f.envStepsPerSec as number) ?? 0,
      bitIdentical: f.identicalInProcess && f.identicalAcrossProcesses ? 'yes' : 'NO',
      sameAsProject: f.sameEpisodesAsProject ? 'yes' : 'no',
    });
  }
  console.log(table(rows));
  const noRapier = figures.filter((f) => f.build === 'project' && f.physicsSteps === 0).map((f) => f.scene);
  if (noRapier.length) console.log(`no Rapier in: ${noRapier.join(', ')} (not compared)`);
  const file = writeBenchResult(opts.outDir, 'rapier-builds', {
    loadAverageBefore: loadBefore,
    loadAverageAfter: loadAfter,
    repetitions,
    builds: builds.map((b) => ({ ...b, installedFrom: b.package ? `${BUILD_DIR}/node_modules/${b.package}` : 'project', version: b.package ? JSON.parse(readFileSync(`${BUILD_DIR}/node_modules/${b.package}/package.json`, 'utf8')).version : null })),
    projectBuild: project,
    sameAsProject,
    missing,
    rows: figures,
  });
  console.log(`load average ${loadBefore[0].toFixed(1)} → ${loadAfter[0].toFixed(1)}; wrote ${file}`);
  return figures;
}
