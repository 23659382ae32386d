import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Rng } from '../src/core/rng.js';
import { exportPolicy } from '../controllers/export/index.js';
import { mlpController, readPolicyManifest } from '../controllers/policy/index.js';
import { writeBenchResult } from './results-io.js';

/**
 * `npm run check:onnx-python [-- --python <python3 with onnxruntime> --policy <dir> --n 1000]`:
 * exports a committed policy (a copy of it, so the committed directory stays as it is) and runs
 * `examples/onnx_policy.py`, the Python example of hardware/README.md, on N observations; its
 * actions must equal the pure-JS forward's (what robots running Node use) to 1e-5. Writes
 * bench/results/<date>-onnx-python.json.
 *
 * The interpreter needs numpy and onnxruntime: `python3 -m venv /tmp/onnx-venv &&
 * /tmp/onnx-venv/bin/pip install onnxruntime numpy` (offline: `--no-index --find-links <wheels>`).
 */
const argValue = (name: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const PYTHON = argValue('--python') ?? 'python3';
const POLICY = argValue('--policy') ?? 'controllers/planning/policies/nav-waypoint-sac';
const N = Number(argValue('--n') ?? 1000);
const TOL = 1e-5;
const EXAMPLE = 'examples/onnx_policy.py';

const probe = spawnSync(PYTHON, ['-c', 'import sys, numpy, onnxruntime; print(sys.version.split()[0], numpy.__version__, onnxruntime.__version__)'], { encoding: 'utf8' });
if (probe.status !== 0) {
  console.error(`${PYTHON} cannot import numpy and onnxruntime (${(probe.stderr || String(probe.error)).trim().split('\n').pop()}).\nMake one: python3 -m venv /tmp/onnx-venv && /tmp/onnx-venv/bin/pip install onnxruntime numpy, then pass --python /tmp/onnx-venv/bin/python`);
  process.exit(2);
}
const [pythonVersion, numpyVersion, onnxruntimeVersion] = probe.stdout.trim().split(' ');

const tmp = mkdtempSync(path.join(os.tmpdir(), 'embody-onnx-python-'));
try {
  const dir = path.join(tmp, path.basename(POLICY));
  cpSync(POLICY, dir, { recursive: true });
  const exported = await exportPolicy(dir);
  const { manifest } = await readPolicyManifest(dir);
  if (manifest.runtime !== 'mlp') throw new Error(`${POLICY}: the Python example takes one observation vector ("obs"); a ${manifest.runtime} policy has other inputs`);
  const controller = mlpController(dir, manifest);
  const obsDim = manifest.observationSpace.kind === 'box' ? manifest.observationSpace.shape.reduce((a, b) => a * b, 1) : 1;
  // Observations around the policy's own normaliser statistics, out to 4 standard deviations
  // (past its clip): what the policy sees, and the clipping too.
  const rng = new Rng(0);
  const norm = manifest.observationNormalization;
  const obs = Array.from({ length: N }, () =>
    Float32Array.from({ length: obsDim }, (_, j) => (norm?.kind === 'running' ? norm.mean[j] + Math.sqrt(norm.var[j]) * 4 * rng.normal() : 4 * rng.normal())),
  );
  const t0 = performance.now();
  const run = spawnSync(PYTHON, [EXAMPLE, exported.file], { input: obs.map((o) => Array.from(o).join(' ')).join('\n') + '\n', encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  const pythonSeconds = (performance.now() - t0) / 1000;
  if (run.status !== 0) throw new Error(`${EXAMPLE} failed (status ${run.status}): ${run.stderr}`);
  const lines = run.stdout.trim().split('\n');
  if (lines.length !== N) throw new Error(`${EXAMPLE} printed ${lines.length} actions for ${N} observations`);
  let worst = 0;
  const distinct = new Set<string>();
  lines.forEach((line, n) => {
    const got = line.split(' ').map(Number);
    const a = controller.act(obs[n]);
    const want = typeof a === 'number' ? [a] : Array.from(a);
    if (got.length !== want.length) throw new Error(`observation ${n}: ${got.length} action values from Python, ${want.length} from JS`);
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
    distinct.add(want.map((v) => v.toFixed(2)).join(','));
  });
  const pass = worst <= TOL && distinct.size > 1;
  const file = writeBenchResult('bench/results', 'onnx-python', {
    policy: POLICY,
    kind: manifest.kind,
    observations: N,
    obsDim,
    onnxBytes: exported.bytes,
    maxAbsDiff: worst,
    tolerance: TOL,
    distinctActions: distinct.size,
    pass,
    python: pythonVersion,
    numpy: numpyVersion,
    onnxruntime: onnxruntimeVersion,
    pythonSeconds,
    loadAverage: os.loadavg(),
  });
  console.log(`${POLICY} (${manifest.kind}) → policy.onnx, ${N} observations through ${EXAMPLE} (Python ${pythonVersion}, onnxruntime ${onnxruntimeVersion}): max |Python − JS| = ${worst.toExponential(2)} (tolerance ${TOL}), ${distinct.size} distinct actions → ${pass ? 'PASS' : 'FAIL'}; ${file}`);
  if (!pass) process.exitCode = 1;
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
