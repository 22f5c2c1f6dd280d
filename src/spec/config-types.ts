// TypeScript for wharf.config.ts, from the user's own installation (resolved from the project
// directory; wharf does not ship a compiler): type errors with file, line, column and the spec
// path they sit at, and positions for the schema's issues. Without TypeScript, a warning says
// that types were not checked.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type * as TS from 'typescript';
import { joinPath, type Issue } from './issues.js';

type Ts = typeof TS;

/** The project's TypeScript, or undefined when the project has none. */
export function projectTypeScript(projectDir: string): Ts | undefined {
  try {
    const req = createRequire(join(projectDir, 'package.json'));
    return req(req.resolve('typescript')) as Ts;
  } catch {
    return undefined;
  }
}

const position = (sf: TS.SourceFile, pos: number) => {
  const lc = sf.getLineAndCharacterOfPosition(pos);
  return { line: lc.line + 1, column: lc.character + 1 };
};

/** The object given to `export default defineStack(...)` (or exported directly). */
function exportedObject(ts: Ts, sf: TS.SourceFile): TS.ObjectLiteralExpression | undefined {
  for (const st of sf.statements) {
    if (!ts.isExportAssignment(st)) continue;
    let e: TS.Expression = st.expression;
    while (ts.isParenthesizedExpression(e) || ts.isSatisfiesExpression(e) || ts.isAsExpression(e)) e = e.expression;
    if (ts.isCallExpression(e) && e.arguments[0]) e = e.arguments[0];
    return ts.isObjectLiteralExpression(e) ? e : undefined;
  }
  return undefined;
}

const propName = (ts: Ts, p: TS.ObjectLiteralElementLike): string | undefined =>
  p.name && (ts.isIdentifier(p.name) || ts.isStringLiteral(p.name) || ts.isNumericLiteral(p.name)) ? p.name.text : undefined;

/** Line and column of a spec path in the config's source, as far as the literal spells it out. */
export function configLocator(ts: Ts, file: string): (path: ReadonlyArray<PropertyKey>) => { line: number; column: number } | undefined {
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const root = exportedObject(ts, sf);
  return (path) => {
    let node: TS.Node | undefined = root;
    let at: TS.Node | undefined = root;
    for (const p of path) {
      if (node && ts.isObjectLiteralExpression(node)) {
        const prop = node.properties.find((q) => propName(ts, q) === String(p));
        if (!prop) break;
        at = prop.name ?? prop;
        node = ts.isPropertyAssignment(prop) ? prop.initializer : undefined;
      } else if (node && ts.isArrayLiteralExpression(node) && typeof p === 'number' && node.elements[p]) {
        node = at = node.elements[p];
      } else break;
    }
    return at ? position(sf, at.getStart(sf)) : undefined;
  };
}

/** The spec path of the literal at pos: property names and array indexes up to the exported object. */
function pathAt(ts: Ts, sf: TS.SourceFile, pos: number): string {
  let node: TS.Node = sf;
  for (;;) {
    const next: TS.Node | undefined = node.getChildren(sf).find((c) => c.getStart(sf) <= pos && pos < c.getEnd());
    if (!next) break;
    node = next;
  }
  const parts: PropertyKey[] = [];
  for (let child = node, up = node.parent; up; child = up, up = up.parent) {
    if (ts.isPropertyAssignment(up) || ts.isShorthandPropertyAssignment(up)) {
      const n = propName(ts, up);
      if (n !== undefined) parts.unshift(n);
    } else if (ts.isArrayLiteralExpression(up)) {
      const i = up.elements.indexOf(child as TS.Expression);
      if (i >= 0) parts.unshift(i);
    } else if (ts.isCallExpression(up) || ts.isExportAssignment(up)) break;
  }
  return joinPath(parts);
}

export function typeCheckConfig(file: string, selfTypes: string, ts = projectTypeScript(dirname(file))): Issue[] {
  const shown = basename(file);
  if (!ts) {
    return [
      {
        path: '',
        severity: 'warning',
        file: shown,
        message: 'types were not checked: no TypeScript installed in this project',
        hint: 'npm install --save-dev typescript',
      },
    ];
  }
  const dir = dirname(file);
  const configPath = ts.findConfigFile(dir, ts.sys.fileExists);
  let options: TS.CompilerOptions = {
    strict: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    skipLibCheck: true,
  };
  if (configPath) {
    const read = ts.readConfigFile(configPath, ts.sys.readFile);
    if (!read.error) options = ts.parseJsonConfigFileContent(read.config, ts.sys, dirname(configPath)).options;
  }
  // 'wharf' means the running wharf, as it does when the config is evaluated.
  options = { ...options, noEmit: true, paths: { ...options.paths, wharf: [selfTypes] } };
  const program = ts.createProgram([file], options);
  const sf = program.getSourceFile(file);
  if (!sf) return [];
  const diags = [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)];
  return diags
    .filter((d) => d.file === sf && d.start !== undefined)
    .map((d) => ({
      path: pathAt(ts, sf, d.start!),
      severity: 'error' as const,
      file: shown,
      ...position(sf, d.start!),
      message: ts.flattenDiagnosticMessageText(d.messageText, ' ').replace(/\s+/g, ' '),
      hint: `TS${d.code}`,
    }));
}
