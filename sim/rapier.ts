import RAPIER from '@dimforge/rapier3d-simd-compat';

/**
 * Rapier3D, loaded once. The only module that imports the Rapier package: the worlds take
 * the module from `loadRapier()` and their types from here, so switching builds (scalar or
 * SIMD, one version or another) is a change to this file and package.json alone.
 * The `-compat` builds embed the wasm in the JS, so they work in Node without a bundler; the
 * API is the same as `@dimforge/rapier3d`.
 *
 * The build is the SIMD one, 0.20 (issue 13; bench/results/2026-12-01-rapier-builds.json from
 * `embody bench rapier-builds`): per World.step it is 1.25–1.46× (UAV), 2.1–2.7× (navigation,
 * manipulation) faster than rapier3d-compat 0.21.0, whose World.step also walks every body and
 * collider from JS after each step (its soft-body bookkeeping), and 1.8–2.5× faster than scalar
 * 0.20.0 on navigation and manipulation (equal on UAV). It replays the same seeds
 * bit-identically, run to run and process to process. Wasm SIMD needs Node ≥ 16.4.
 */
export type Rapier = typeof RAPIER;
export type { Collider, Cuboid, EventQueue, Ray, RigidBody, World } from '@dimforge/rapier3d-simd-compat';

let build: Rapier = RAPIER;
let ready: Promise<Rapier> | null = null;

/**
 * Use another build of Rapier with the same API (a module's default export), instead of the
 * project's own. For `embody bench rapier-builds`, which compares builds in child processes;
 * it must come before the first `loadRapier()`, so one process never mixes two builds.
 */
export function useRapierBuild(module: unknown): void {
  if (ready) throw new Error('useRapierBuild: Rapier is already loaded in this process; choose the build before the first loadRapier()');
  const m = module as Partial<Rapier> | null;
  if (!m || typeof m.init !== 'function' || typeof m.World !== 'function') throw new Error('useRapierBuild: not a Rapier module (expected its default export, with init() and World)');
  build = m as Rapier;
}

export function loadRapier(): Promise<Rapier> {
  if (!ready) {
    const R = build;
    ready = (async () => {
      // Rapier's init() warns about deprecated parameters when given none; an empty object is the current form.
      await (R.init as (opts?: object) => Promise<void>)({});
      return R;
    })();
  }
  return ready;
}

/** The Rapier build in use, as Rapier reports it (e.g. "0.21.0"). */
export function rapierVersion(R: Rapier): string {
  return R.version();
}
