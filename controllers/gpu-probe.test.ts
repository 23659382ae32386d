import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { probeCudaLibraries, probeWebGpuAdapter, TFJS_NODE_GPU_LIBRARIES } from './gpu-probe.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'embody-gpu-probe-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('GPU probes', () => {
  it('CUDA libraries: found in an extra directory, missing ones reported as null, names as tfjs-node-gpu needs them', () => {
    writeFileSync(path.join(tmp, 'libcudart.so.11.0'), '');
    const probes = probeCudaLibraries([tmp], ['libcudart.so.11.0', 'libembody-does-not-exist.so.1']);
    expect(probes).toEqual([
      { name: 'libcudart.so.11.0', found: path.join(tmp, 'libcudart.so.11.0') },
      { name: 'libembody-does-not-exist.so.1', found: null },
    ]);
    expect(TFJS_NODE_GPU_LIBRARIES).toContain('libcudnn.so.8');
    // A library every machine has is found (by the ldconfig cache, or else by the loader).
    expect(probeCudaLibraries([], ['libc.so.6'])[0].found).not.toBeNull();
  });

  it('embody doctor names the software adapter and says it is not auto-selected', async () => {
    const adapter = await probeWebGpuAdapter();
    const out = execFileSync(process.execPath, ['bin/embody.js', 'doctor'], { encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: tmp }, stdio: ['ignore', 'pipe', 'pipe'] });
    expect(out).toContain('CUDA libraries tfjs-node-gpu 4.x needs');
    expect(out).toContain('libcudart.so.11.0');
    expect(out).toContain(`description: ${adapter.description}`);
    if (adapter.software) expect(out).toMatch(/webgpu\s+not chosen: software adapter, not auto-selected/);
    else expect(out).toMatch(/webgpu\s+(LOADED|not tried)/);
  }, 60_000);
});
