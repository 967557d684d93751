/**
 * The TypeScript sources under src/, read with the TypeScript compiler API: their files, their
 * functions and how long each is, and what each file imports. For the tests that keep the code's
 * shape (sizes, layers) as documented.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** src/ of the repository (tests run from dist/test/..., the sources stay where they are). */
export const SRC_DIR = fileURLToPath(new URL('../../../src/', import.meta.url));

export interface SourceFile {
  /** Relative to src/, with `/`: `config/read.ts`. */
  readonly path: string;
  readonly lines: number;
  readonly tree: ts.SourceFile;
}

export interface FunctionSpan {
  /** `config/read.ts:51 buildConfig` */
  readonly where: string;
  readonly file: string;
  readonly lines: number;
}

/** Every .ts file under src/ (declaration files included), sorted by path. */
export function sourceFiles(): SourceFile[] {
  const found: string[] = [];
  const walk = (directory: string, prefix: string): void => {
    for (const entry of readdirSync(directory, { withFileTypes: true })) {
      const relative = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
      if (entry.isDirectory()) walk(join(directory, entry.name), relative);
      else if (entry.name.endsWith('.ts')) found.push(relative);
    }
  };
  walk(SRC_DIR, '');
  return found.sort().map((path) => {
    const text = readFileSync(join(SRC_DIR, path), 'utf8');
    const lines = text.length === 0 ? 0 : text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
    return { path, lines, tree: ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true) };
  });
}

/**
 * Every function with a body (declarations, expressions, arrows, methods, constructors,
 * accessors), from its first line (after its doc comment) to its last. A function's length
 * includes the functions nested in it: a factory returning closures is as long as all of them.
 */
export function functionSpans(file: SourceFile): FunctionSpan[] {
  const { tree } = file;
  const spans: FunctionSpan[] = [];
  const lineOf = (position: number): number => tree.getLineAndCharacterOfPosition(position).line + 1;
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
      const first = lineOf(node.getStart(tree));
      const lines = lineOf(node.getEnd()) - first + 1;
      spans.push({ where: `${file.path}:${first} ${functionName(node, tree)}`, file: file.path, lines });
    }
    ts.forEachChild(node, visit);
  };
  visit(tree);
  return spans;
}

function functionName(node: ts.SignatureDeclaration, tree: ts.SourceFile): string {
  if (node.name !== undefined) return node.name.getText(tree);
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  const parent = node.parent;
  if ((ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) && parent.name !== undefined) {
    return parent.name.getText(tree);
  }
  return '(anonymous)';
}

/**
 * The src/ files `file` imports (import, import type, export ... from, import() and import('...')
 * types), as paths relative to src/. Packages are left out; a relative import that names no
 * source file is returned as it was written, prefixed with `?`.
 */
export function importedSources(file: SourceFile, known: ReadonlySet<string>): string[] {
  const specifiers: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier !== undefined) {
      if (ts.isStringLiteral(node.moduleSpecifier)) specifiers.push(node.moduleSpecifier.text);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      specifiers.push(node.argument.literal.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [argument] = node.arguments;
      if (argument !== undefined && ts.isStringLiteral(argument)) specifiers.push(argument.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(file.tree);
  const imported = new Set<string>();
  for (const specifier of specifiers) {
    if (!specifier.startsWith('.')) continue;
    const resolved = posix.normalize(posix.join(posix.dirname(file.path), specifier)).replace(/\.js$/, '.ts');
    imported.add(known.has(resolved) ? resolved : `?${specifier}`);
  }
  return [...imported];
}
