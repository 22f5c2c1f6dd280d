// Reads wharf.yaml (or wharf.config.ts), validates it against the schema and the
// cross-field rules, and returns every issue at once with its path and position.
import { readFile, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { resolve, basename } from 'node:path';
import { parseDocument, isMap, isSeq, isScalar, LineCounter, type Document, type Node, type Pair, type YAMLMap } from 'yaml';
import { dirname } from 'node:path';
import { evaluateConfig } from './config-file.js';
import { configLocator, projectTypeScript } from './config-types.js';
import type { z } from 'zod';
import { stackSchema, type Stack } from './schema.js';
import { closest, joinPath, type Issue } from './issues.js';
import { crossFieldRules } from './rules.js';
import { SPEC_VERSION, migrateValue } from './migrate.js';

export interface LoadResult {
  stack?: Stack;
  issues: Issue[];
  file: string;
  /** file, line and column of a spec path, for issues found later (by the plan rules) */
  place?: Place;
}

type Place = (path: ReadonlyArray<PropertyKey>) => Pick<Issue, 'file' | 'line' | 'column'>;

/** A spec is a page of YAML; megabytes of it are a mistake or an attack. */
export const MAX_SPEC_BYTES = 1024 * 1024;
const tooBig = (file: string, bytes: number): Issue => ({
  path: '',
  severity: 'error',
  file,
  message: `spec is ${(bytes / 1024 / 1024).toFixed(1)} MiB, more than the ${MAX_SPEC_BYTES / 1024 / 1024} MiB limit`,
  hint: 'a wharf spec is a page or two of YAML: is this the right file?',
});

export const specFileNames = ['wharf.yaml', 'wharf.yml', 'wharf.config.ts'];

export function findSpecFile(dir: string): string | undefined {
  for (const n of specFileNames) {
    const p = resolve(dir, n);
    if (existsSync(p)) return p;
  }
  return undefined;
}

export async function loadSpecFile(file: string, opts: { configTimeoutMs?: number } = {}): Promise<LoadResult> {
  const shown = basename(file);
  if (!existsSync(file)) {
    return {
      file,
      issues: [
        { path: '', severity: 'error', file: shown, message: `spec file not found: ${file}`, hint: 'run `wharf init` or pass --file' },
      ],
    };
  }
  // A directory (or a link to one) named like the spec: say so, not a raw EISDIR without the file's name.
  if (!(await stat(file)).isFile())
    return {
      file,
      issues: [{ path: '', severity: 'error', file: shown, message: `${file} is not a regular file`, hint: 'point --file at the spec' }],
    };
  if (file.endsWith('.ts') || file.endsWith('.js') || file.endsWith('.mjs')) {
    const r = await evaluateConfig(file, { timeoutMs: opts.configTimeoutMs });
    // The message names the file itself (and a syntax error its line): no file prefix on top.
    if (!r.ok) return { file, issues: [{ path: '', severity: 'error', message: r.message, hint: r.hint }] };
    // With the project's TypeScript, issues point into the config's source too.
    const ts = file.endsWith('.ts') ? projectTypeScript(dirname(file)) : undefined;
    const locate = ts ? configLocator(ts, file) : undefined;
    const place: Place = (path) => {
      const pos = locate?.(path);
      return { file: shown, line: pos?.line, column: pos?.column };
    };
    return { file, place, ...validateSpec(r.value, { file: shown, locate }) };
  }
  const size = (await stat(file)).size;
  if (size > MAX_SPEC_BYTES) return { file, issues: [tooBig(shown, size)] };
  const text = await readFile(file, 'utf8');
  return { file, ...parseSpecText(text, shown) };
}

export function parseSpecText(text: string, file = 'wharf.yaml'): { stack?: Stack; issues: Issue[]; place?: Place } {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_SPEC_BYTES) return { issues: [tooBig(file, bytes)] };
  const lineCounter = new LineCounter();
  // yaml's own uniqueKeys check compares each key with every earlier one (quadratic); duplicateKeys is linear.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  const issues: Issue[] = [];
  for (const e of doc.errors) {
    const pos = lineCounter.linePos(e.pos[0]);
    const deep = e.message.includes('call stack');
    issues.push({
      path: '',
      severity: 'error',
      file,
      message: `YAML: ${e.message.split('\n')[0]}`,
      hint: deep ? 'the document is nested too deeply' : undefined,
      line: pos.line,
      column: pos.col,
    });
  }
  if (issues.length) return { issues: issues.slice(0, 20) };
  for (const d of duplicateKeys(doc)) {
    const pos = lineCounter.linePos(d.offset);
    const proto = d.key === '__proto__';
    issues.push({
      path: joinPath(d.path),
      severity: 'error',
      file,
      message: proto ? 'the key "__proto__" cannot be read as data' : `duplicate key "${d.key}"`,
      hint: proto
        ? 'JavaScript drops it silently, so what it holds would never take effect: rename it'
        : 'each key may appear once per mapping; the later one would silently win',
      line: pos.line,
      column: pos.col,
    });
  }
  if (issues.length) return { issues };
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // Unresolved aliases and alias bombs surface here, not in doc.errors.
    return {
      issues: [
        {
          path: '',
          severity: 'error',
          file,
          message: `YAML: ${(err as Error).message.split('\n')[0]}`,
          hint: 'check anchors (&name) and aliases (*name)',
        },
      ],
    };
  }
  const locate = (path: ReadonlyArray<PropertyKey>) => positionOf(doc, lineCounter, path);
  const place: Place = (path) => {
    const pos = locate(path);
    return { file, line: pos?.line, column: pos?.column };
  };
  return { ...validateSpec(value, { file, locate }), place };
}

/** Keys repeated within one mapping, with the path of the repeat, and every `__proto__` key; one pass over the document. */
function duplicateKeys(doc: Document): Array<{ path: PropertyKey[]; key: string; offset: number }> {
  const out: Array<{ path: PropertyKey[]; key: string; offset: number }> = [];
  // An explicit stack instead of recursion: deep nesting must not overflow the call stack.
  const todo: Array<{ node: unknown; path: PropertyKey[] }> = [{ node: doc.contents, path: [] }];
  while (todo.length) {
    const { node, path } = todo.pop()!;
    if (isMap(node)) {
      const seen = new Set<string>();
      for (const pair of node.items) {
        const k = isScalar(pair.key) ? String(pair.key.value) : undefined;
        if (k !== undefined) {
          if (seen.has(k) || k === '__proto__') out.push({ path: [...path, k], key: k, offset: (pair.key as Node).range?.[0] ?? 0 });
          seen.add(k);
        }
        todo.push({ node: pair.value, path: [...path, k ?? '?'] });
      }
    } else if (isSeq(node)) {
      node.items.forEach((it, i) => todo.push({ node: it, path: [...path, i] }));
    }
  }
  return out.sort((a, b) => a.offset - b.offset);
}

interface ValidateOptions {
  file?: string;
  locate?: (path: ReadonlyArray<PropertyKey>) => { line: number; column: number } | undefined;
}

export function validateSpec(input: unknown, opts: ValidateOptions = {}): { stack?: Stack; issues: Issue[] } {
  const place = (path: ReadonlyArray<PropertyKey>) => {
    const pos = opts.locate?.(path);
    return { file: opts.file, line: pos?.line, column: pos?.column };
  };
  // An older spec is read through the migration table; a newer or unknown version stops here.
  const migrated = migrateValue(input);
  if (migrated.issue) return { issues: [{ ...migrated.issue, ...place(['version']) }] };
  const issues: Issue[] = migrated.steps.length
    ? [
        {
          path: 'version',
          severity: 'warning',
          message: `written for spec version ${(input as { version?: number }).version ?? 1}, read as version ${SPEC_VERSION}`,
          hint: '`wharf migrate` rewrites the file for this version',
          ...place(['version']),
        },
      ]
    : [];
  const value = migrated.value;
  const parsed = stackSchema.safeParse(value ?? {});
  if (!parsed.success) {
    return { issues: [...issues, ...parsed.error.issues.flatMap((zi) => fromZodIssue(zi, value, place))] };
  }
  for (const rule of crossFieldRules) {
    for (const i of rule(parsed.data)) issues.push({ ...i, ...place(splitPath(i.path)) });
  }
  const hasError = issues.some((i) => i.severity === 'error');
  return { stack: hasError ? undefined : parsed.data, issues };
}

function fromZodIssue(
  zi: z.core.$ZodIssue,
  root: unknown,
  place: (p: ReadonlyArray<PropertyKey>) => Pick<Issue, 'file' | 'line' | 'column'>,
): Issue[] {
  if (zi.code === 'unrecognized_keys') {
    const parent = getAt(root, zi.path);
    const known = knownKeysAt(zi.path);
    return zi.keys.map((k) => {
      const path = [...zi.path, k];
      const guess = closest(k, known);
      return {
        path: joinPath(path),
        severity: 'error' as const,
        message: `unknown key "${k}"`,
        hint: guess ? `did you mean "${guess}"?` : known.length ? `expected one of: ${known.join(', ')}` : undefined,
        ...place(path),
        ...(parent === undefined ? {} : {}),
      };
    });
  }
  if (zi.code === 'invalid_union') {
    // Report the branch that got furthest, instead of "invalid input".
    const branches = (zi as { errors?: z.core.$ZodIssue[][] }).errors ?? [];
    const best = branches.slice().sort((a, b) => a.length - b.length)[0];
    if (best && best.length) {
      return best.flatMap((b) => fromZodIssue({ ...b, path: [...zi.path, ...b.path] } as z.core.$ZodIssue, root, place));
    }
  }
  let message = zi.message;
  if (zi.code === 'invalid_type' && getAt(root, zi.path) === undefined) message = `is required (${zi.expected})`;
  else if (zi.code === 'invalid_type') message = `expected ${zi.expected}, got ${describe(getAt(root, zi.path))}`;
  else if (zi.code === 'invalid_value' && 'values' in zi) message = `expected one of ${zi.values.map((v) => JSON.stringify(v)).join(', ')}`;
  else if (message.startsWith('Invalid input')) message = message.replace(/^Invalid input/, 'invalid value');
  return [{ path: joinPath(zi.path), severity: 'error', message, ...place(zi.path) }];
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return describeString(v);
  return `${typeof v} ${JSON.stringify(v)}`;
}

/**
 * A string is shown only when short, on one line and not shaped like a credential: a wharf.yaml
 * that is really /etc/passwd or a dotenv file must not be echoed into a terminal or a CI log.
 */
export function describeString(v: string): string {
  const credential = /^\s*[A-Za-z_][A-Za-z0-9_.-]*\s*=|pass|secret|token|api.?key|private|:\/\/[^/\s]*:[^/\s]*@/i.test(v);
  if (v.length > 60 || /[\r\n]/.test(v) || credential) {
    const lines = v.split(/\r?\n/).length;
    return `a string of ${v.length} characters${lines > 1 ? ` on ${lines} lines` : ''} (not shown: is this the right file?)`;
  }
  return `string ${JSON.stringify(v)}`;
}

function getAt(root: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let cur: unknown = root;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  return cur;
}

export function splitPath(p: string): PropertyKey[] {
  const out: PropertyKey[] = [];
  for (const m of p.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) out.push(m[2] !== undefined ? Number(m[2]) : m[1]!);
  return out;
}

/** Keys the schema allows at a path, for "did you mean" hints. */
function knownKeysAt(path: ReadonlyArray<PropertyKey>): string[] {
  let s: unknown = stackSchema;
  for (const p of path) {
    s = unwrap(s);
    const def = (s as { def?: { type?: string; shape?: Record<string, unknown>; valueType?: unknown; element?: unknown } }).def;
    if (!def) return [];
    if (def.type === 'object' && def.shape) s = def.shape[String(p)];
    else if (def.type === 'record') s = def.valueType;
    else if (def.type === 'array') s = def.element;
    else return [];
  }
  s = unwrap(s);
  const shape = (s as { def?: { shape?: Record<string, unknown> } })?.def?.shape;
  return shape ? Object.keys(shape) : [];
}

function unwrap(s: unknown): unknown {
  for (let i = 0; i < 10; i++) {
    const def = (s as { def?: { type?: string; innerType?: unknown; options?: unknown[] } })?.def;
    if (!def) return s;
    if (def.type === 'default' || def.type === 'optional' || def.type === 'nullable' || def.type === 'prefault') s = def.innerType;
    else if (def.type === 'union' && def.options)
      s = def.options.find((o) => (o as { def?: { type?: string } }).def?.type === 'object') ?? s;
    else return s;
    if (def.type === 'union') return s;
  }
  return s;
}

// Per-mapping key index: looking a key up by scanning items made many issues quadratic.
const keyIndex = new WeakMap<YAMLMap, Map<string, Pair>>();
function pairAt(map: YAMLMap, key: string): Pair | undefined {
  let idx = keyIndex.get(map);
  if (!idx) {
    idx = new Map();
    for (const it of map.items) {
      const k = String((it.key as { value?: unknown })?.value ?? it.key);
      if (!idx.has(k)) idx.set(k, it as Pair);
    }
    keyIndex.set(map, idx);
  }
  return idx.get(key);
}

function positionOf(doc: Document, lc: LineCounter, path: ReadonlyArray<PropertyKey>) {
  let node: Node | null | undefined = doc.contents as Node | null;
  let keyNode: Node | undefined;
  for (const p of path) {
    if (isMap(node)) {
      const pair = pairAt(node as YAMLMap, String(p));
      if (!pair) break;
      keyNode = pair.key as Node;
      node = pair.value as Node;
    } else if (isSeq(node) && typeof p === 'number') {
      node = node.items[p] as Node;
      keyNode = undefined;
    } else break;
  }
  const target = keyNode ?? node;
  const offset = target?.range?.[0];
  if (offset === undefined) return undefined;
  const pos = lc.linePos(offset);
  return { line: pos.line, column: pos.col };
}
