// `wharf init`: writes a template as wharf.yaml (or, with --ts, wharf.config.ts), and the
// reference API source when the template builds it, so `wharf up` works in an empty directory.
// In a directory with a package.json it adds the scripts wharf:up and wharf:check.
import { cpSync, existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { assertWritable, mkdirInside, readInside, writeInside } from '../fs/confined.js';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { UserInputError } from '../spec/issues.js';
import { specFileNames } from '../spec/load.js';
import { writeSchemaFile } from '../ops/prepare.js';
import { configSource } from './ts-config.js';

/** The installed package's root (holds templates/), from src/cli, dist/cli or dist/bundle alike. */
export const packageRoot = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'templates')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
})();
const templatesDir = join(packageRoot, 'templates');

export function templateNames(): string[] {
  return readdirSync(templatesDir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.replace(/\.yaml$/, ''))
    .sort();
}

export function templatePath(name: string): string {
  return join(templatesDir, `${name}.yaml`);
}

export interface InitResult {
  created: string[];
  kept: string[];
}

export const packageScripts = { 'wharf:up': 'wharf up', 'wharf:check': 'wharf check' };

export function init(dir: string, template: string, force = false, opts: { ts?: boolean } = {}): InitResult {
  const names = templateNames();
  if (!names.includes(template)) {
    throw new UserInputError([
      { path: '--template', severity: 'error', message: `unknown template "${template}"`, hint: `one of: ${names.join(', ')}` },
    ]);
  }
  const specName = opts.ts ? 'wharf.config.ts' : 'wharf.yaml';
  const dest = resolve(dir, specName);
  if (existsSync(dest) && !force) {
    throw new UserInputError([
      { path: specName, severity: 'error', message: `${dest} already exists`, hint: 'pass --force to overwrite it' },
    ]);
  }
  const other = specFileNames.find((n) => n !== specName && existsSync(resolve(dir, n)));
  if (other) {
    const message = `${resolve(dir, other)} already exists and would be read instead of ${specName}`;
    throw new UserInputError([{ path: specName, severity: 'error', message, hint: `remove ${other} first` }]);
  }
  // Read before anything is written: a broken package.json must leave the directory as it was.
  const pkg = readPackageJson(dir);
  const text = readFileSync(templatePath(template), 'utf8');
  const created: string[] = [];
  const kept: string[] = [];
  const copyApi = text.includes('context: ./apps/api') && !lexists(resolve(dir, 'apps/api'));
  // Every file init writes stays in the directory, also when one of them is a link leading out of it.
  assertWritable(dir, [specName, '.wharf/wharf.schema.json', ...(pkg ? ['package.json'] : []), ...(copyApi ? ['apps/api'] : [])]);
  if (copyApi) {
    // A built dist/server.js goes along: the Dockerfile then builds without the npm registry.
    const skip = new Set(['node_modules', 'test', '.tmp']);
    cpSync(join(packageRoot, 'apps', 'api'), mkdirInside(dir, 'apps/api'), {
      recursive: true,
      filter: (src) => !src.split(/[\\/]/).some((part) => skip.has(part)) && !src.endsWith('.map'),
    });
    created.push('apps/api/');
  }
  if (opts.ts) {
    writeInside(dir, specName, configSource(parse(text)));
    created.unshift(specName);
  } else {
    writeInside(dir, specName, text);
    writeSchemaFile(resolve(dir));
    created.unshift(specName, '.wharf/wharf.schema.json');
  }
  if (pkg) {
    const scripts = (pkg.value.scripts ?? {}) as Record<string, string>;
    const added = Object.entries(packageScripts).filter(([k]) => scripts[k] === undefined);
    const own = (k: string) => scripts[k] !== undefined && scripts[k] !== packageScripts[k as keyof typeof packageScripts];
    kept.push(
      ...Object.keys(packageScripts)
        .filter(own)
        .map((k) => `package.json scripts.${k}`),
    );
    if (added.length) {
      pkg.value.scripts = { ...scripts, ...Object.fromEntries(added) };
      writeInside(dir, 'package.json', `${JSON.stringify(pkg.value, null, pkg.indent)}\n`);
      created.push(`package.json scripts ${added.map(([k]) => k).join(', ')}`);
    }
  }
  return { created, kept };
}

function readPackageJson(dir: string): { path: string; value: Record<string, unknown>; indent: string } | undefined {
  const path = resolve(dir, 'package.json');
  if (!lexists(path)) return undefined;
  const text = readInside(dir, 'package.json').toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    // Node quotes the text around the error: never echo a file's content (it may hold tokens).
    const message = `not valid JSON: ${(e as Error).message.replace(/,? ?"[^]*"(\.\.\.)? is not valid JSON/, '').replace(/\s+$/, '')}`;
    throw new UserInputError([{ path: basename(path), severity: 'error', message, hint: 'fix package.json, then run `wharf init` again' }]);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new UserInputError([{ path: basename(path), severity: 'error', message: 'should be a JSON object' }]);
  }
  return { path, value: value as Record<string, unknown>, indent: /^\{\r?\n([ \t]+)"/.exec(text)?.[1] ?? '  ' };
}

function lexists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}
