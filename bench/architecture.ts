import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/**
 * The folder graph the design asks for, read from the sources with the TypeScript compiler.
 * A folder may import only folders of a lower layer (or itself); no two files may import each
 * other in a cycle (type-only imports count); and no dynamic import may take a computed path,
 * which would hide an edge from this check and from tsc.
 */
export const LAYERS: string[][] = [
  ['src/core'],
  ['src/record'],
  ['src/viewer'],
  ['sim'],
  ['src/data'],
  ['controllers'],
  ['src/experiment'],
  ['hardware'],
  ['src/jobs'],
  ['src/cli'],
  ['src/index.ts', 'bench', 'examples'],
];

export interface SourceFile {
  file: string;
  text: string;
}

export interface ImportEdge {
  from: string;
  to: string;
  typeOnly: boolean;
}

/** The folder a file belongs to in LAYERS terms. */
export function folderOf(file: string): string {
  const parts = file.split('/');
  if (parts[0] === 'src') return parts.length === 2 ? file : `src/${parts[1]}`;
  return parts[0];
}

export function layerOf(folder: string): number {
  return LAYERS.findIndex((l) => l.includes(folder));
}

export function readSources(root: string): SourceFile[] {
  return execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.ts'], { cwd: root, encoding: 'utf8' })
    .split('\n')
    .filter((f) => f && !f.endsWith('.test.ts') && !f.endsWith('.d.ts') && !f.startsWith('node_modules/'))
    .map((file) => ({ file, text: readFileSync(path.join(root, file), 'utf8') }));
}

/** Relative imports of each file (static, re-exports and literal dynamic ones), and computed dynamic imports. */
export function importGraph(sources: SourceFile[]): { edges: ImportEdge[]; computed: { file: string; expr: string }[] } {
  const known = new Set(sources.map((s) => s.file));
  const edges: ImportEdge[] = [];
  const computed: { file: string; expr: string }[] = [];
  for (const { file, text } of sources) {
    const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    const add = (spec: string, typeOnly: boolean) => {
      if (!spec.startsWith('.')) return;
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec)).replace(/\.js$/, '.ts');
      const to = known.has(target) ? target : known.has(`${target}/index.ts`) ? `${target}/index.ts` : target;
      edges.push({ from: file, to, typeOnly });
    };
    const visit = (n: ts.Node) => {
      if (ts.isImportDeclaration(n) && ts.isStringLiteral(n.moduleSpecifier)) add(n.moduleSpecifier.text, !!n.importClause?.isTypeOnly);
      else if (ts.isExportDeclaration(n) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier)) add(n.moduleSpecifier.text, n.isTypeOnly);
      else if (ts.isImportTypeNode(n) && ts.isLiteralTypeNode(n.argument) && ts.isStringLiteral(n.argument.literal)) add(n.argument.literal.text, true);
      else if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword) {
        const arg = n.arguments[0];
        if (arg && (ts.isStringLiteral(arg) || ts.isNoSubstitutionTemplateLiteral(arg))) add(arg.text, false);
        else if (!arg || !optionalPackageOnly(arg)) computed.push({ file, expr: arg?.getText(sf) ?? '' });
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  return { edges, computed };
}

/**
 * `import('webgpu' as string)` or a choice between such names: an optional npm dependency that
 * tsc must not resolve at build time. It names packages only, never one of our files, so it
 * hides no edge of this graph.
 */
function optionalPackageOnly(expr: ts.Expression): boolean {
  const literals: string[] = [];
  let other = false;
  const visit = (n: ts.Node) => {
    if (ts.isStringLiteral(n)) literals.push(n.text);
    else if (ts.isIdentifier(n) && !ts.isTypeReferenceNode(n.parent) && n.parent.kind !== ts.SyntaxKind.AsExpression) other = other || !ts.isBinaryExpression(n.parent);
    else if (ts.isTemplateExpression(n) || ts.isCallExpression(n) || ts.isPropertyAccessExpression(n)) other = true;
    ts.forEachChild(n, visit);
  };
  visit(expr);
  return !other && literals.length > 0 && literals.every((l) => !l.startsWith('.') && !l.startsWith('/'));
}

/** Edges that go from a lower layer to a higher one, or into a folder LAYERS does not know. */
export function backEdges(edges: ImportEdge[]): ImportEdge[] {
  return edges.filter((e) => {
    const a = folderOf(e.from);
    const b = folderOf(e.to);
    if (a === b) return false;
    const la = layerOf(a);
    const lb = layerOf(b);
    return la < 0 || lb < 0 || lb > la || (lb === la && a !== b);
  });
}

/** Cycles between files (Tarjan's strongly connected components of size > 1, or a self-import). */
export function fileCycles(edges: ImportEdge[]): string[][] {
  const adj = new Map<string, string[]>();
  for (const e of edges) {
    if (!adj.has(e.from)) adj.set(e.from, []);
    adj.get(e.from)!.push(e.to);
  }
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const strong = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of adj.get(v) ?? []) {
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (adj.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const v of adj.keys()) if (!idx.has(v)) strong(v);
  return out;
}
