// `wharf init`: writes a template as wharf.yaml, and the reference API source
// when the template builds it, so `wharf up` works in an empty directory.
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserInputError } from '../spec/issues.js';
import { writeSchemaFile } from '../ops/prepare.js';

/** The installed package's root (holds templates/), from src/cli, dist/cli or dist/bundle alike. */
export const packageRoot = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'templates')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
})();
const templatesDir = join(packageRoot, 'templates');

export function templateNames(): string[] {
  return readdirSync(templatesDir).filter((f) => f.endsWith('.yaml')).map((f) => f.replace(/\.yaml$/, '')).sort();
}

export function templatePath(name: string): string {
  return join(templatesDir, `${name}.yaml`);
}

export interface InitResult { created: string[] }

export function init(dir: string, template: string, force = false): InitResult {
  const names = templateNames();
  if (!names.includes(template)) {
    throw new UserInputError([{ path: '--template', severity: 'error', message: `unknown template "${template}"`, hint: `one of: ${names.join(', ')}` }]);
  }
  const dest = resolve(dir, 'wharf.yaml');
  if (existsSync(dest) && !force) {
    throw new UserInputError([{ path: 'wharf.yaml', severity: 'error', message: `${dest} already exists`, hint: 'pass --force to overwrite it' }]);
  }
  const text = readFileSync(templatePath(template), 'utf8');
  const created: string[] = [];
  if (text.includes('context: ./apps/api') && !existsSync(resolve(dir, 'apps/api'))) {
    // A built dist/server.js goes along: the Dockerfile then builds without the npm registry.
    const skip = new Set(['node_modules', 'test', '.tmp']);
    cpSync(join(packageRoot, 'apps', 'api'), resolve(dir, 'apps', 'api'), {
      recursive: true,
      filter: (src) => !src.split(/[\\/]/).some((part) => skip.has(part)) && !src.endsWith('.map'),
    });
    created.push('apps/api/');
  }
  writeFileSync(dest, text);
  writeSchemaFile(resolve(dir));
  created.unshift('wharf.yaml', '.wharf/wharf.schema.json');
  return { created };
}
