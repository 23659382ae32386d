import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLI_DOC, README, expectedFiles } from './reference.js';

/** The README's CLI reference and library section cannot drift from the code. */
describe('documentation generated from the code', () => {
  it('README command table and docs/cli.md match the commander definitions (npm run docs:cli rewrites them)', async () => {
    const { readme, doc } = await expectedFiles();
    expect(readFileSync(README, 'utf8')).toBe(readme);
    expect(readFileSync(CLI_DOC, 'utf8')).toBe(doc);
  });

  it("the README's library section names every runtime export of 'embody', and imports only real ones", async () => {
    const text = readFileSync(README, 'utf8');
    const section = text.slice(text.indexOf('## Library\n'), text.indexOf('\n## ', text.indexOf('## Library\n') + 3));
    const api = await import('../index.js');
    for (const name of Object.keys(api)) expect(section, `README library section misses ${name}`).toContain(`\`${name}`);
    const imported = /import \{([^}]+)\} from 'embody'/.exec(section)![1].split(',').map((s) => s.trim());
    for (const name of imported) expect(api, `README imports ${name}, which 'embody' does not export`).toHaveProperty(name);
  });
});
