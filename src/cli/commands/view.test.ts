import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';

it('embody view serves the page, the runs API and scene descriptions', async () => {
  const runs = mkdtempSync(path.join(tmpdir(), 'embody-view-cli-'));
  const child = spawn(process.execPath, ['bin/embody.js', 'view', '--port', '0', '--runs', runs], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        const m = /embody viewer at (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]);
      });
      child.once('exit', (code) => reject(new Error(`embody view exited (${code}): ${out}`)));
      setTimeout(() => reject(new Error(`no URL printed: ${out}`)), 30_000);
    });
    expect(await (await fetch(url)).text()).toContain('<script type="importmap">');
    expect(await (await fetch(`${url}api/info`)).json()).toMatchObject({ live: false, runsDir: runs });
    const scene = await (await fetch(`${url}api/scenes/uav-small`)).json();
    expect(scene.task).toBe('uav');
    expect(scene.bodies.some((b: { role: string }) => b.role === 'uav')).toBe(true);
    expect((await fetch(`${url}api/scenes/no-such-scene`)).status).toBe(404);
  } finally {
    child.kill('SIGTERM');
    rmSync(runs, { recursive: true, force: true });
  }
});
