import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkFiles } from './figures.js';

/** npm run check:figures [README.md ...]: every README figure is in the results file its table names. */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const files = args.length
  ? args.map((f) => path.resolve(f))
  : execFileSync('git', ['ls-files', '*.md'], { cwd: ROOT, encoding: 'utf8' })
      .split('\n')
      .filter((f) => f.endsWith('README.md'))
      .map((f) => path.join(ROOT, f));
const problems = checkFiles(ROOT, files);
for (const p of problems) console.log(`${p.file}:${p.line}: ${p.reason}`);
console.log(problems.length ? `check:figures: ${problems.length} figure(s) without a source` : `check:figures: every figure in ${files.length} README(s) is in its results file`);
process.exit(problems.length ? 1 : 0);
