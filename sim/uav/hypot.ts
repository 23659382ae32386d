/**
 * Math.hypot for 2 and 3 finite numbers, written out: the same doubles as V8's builtin (Node's
 * deps/v8/src/builtins/builtins-math.cc: normalise by the largest |x|, Kahan-sum the squares,
 * √sum · max), at a quarter of its cost. The builtin is a C++ runtime call that takes varargs,
 * ~60 ns; the UAV backend needs two per physics step (path length, flight power). A zero, an
 * infinite or a NaN argument goes to the builtin itself. hypot.test.ts checks the equality.
 */
export function hypot3(x: number, y: number, z: number): number {
  const ax = Math.abs(x);
  const ay = Math.abs(y);
  const az = Math.abs(z);
  let max = ax;
  if (ay > max) max = ay;
  if (az > max) max = az;
  if (!(max > 0 && max < Infinity)) return Math.hypot(x, y, z);
  let n = ax / max;
  let sum = n * n;
  let compensation = 0;
  n = ay / max;
  let summand = n * n - compensation;
  let preliminary = sum + summand;
  compensation = preliminary - sum - summand;
  sum = preliminary;
  n = az / max;
  summand = n * n - compensation;
  preliminary = sum + summand;
  sum = preliminary;
  return Math.sqrt(sum) * max;
}

/** hypot3 for two numbers (see there). */
export function hypot2(x: number, y: number): number {
  const ax = Math.abs(x);
  const ay = Math.abs(y);
  const max = ay > ax ? ay : ax;
  if (!(max > 0 && max < Infinity)) return Math.hypot(x, y);
  const nx = ax / max;
  const ny = ay / max;
  return Math.sqrt(nx * nx + ny * ny) * max;
}
