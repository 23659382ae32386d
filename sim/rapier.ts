import RAPIER from '@dimforge/rapier3d-compat';

/**
 * Rapier3D, loaded once. `@dimforge/rapier3d-compat` embeds the wasm in the JS, so it
 * works in Node without a bundler; the API is the same as `@dimforge/rapier3d`.
 */
export type Rapier = typeof RAPIER;
let ready: Promise<Rapier> | null = null;

export function loadRapier(): Promise<Rapier> {
  if (!ready) {
    ready = (async () => {
      // Rapier's init() warns about deprecated parameters when given none; an empty object is the current form.
      await (RAPIER.init as (opts?: object) => Promise<void>)({});
      return RAPIER;
    })();
  }
  return ready;
}
