// wharf.config.ts as a TypeScript user writes it: `init --ts` gives the template key for key,
// `init` adds package.json scripts without clobbering, and the type checker (the project's own
// TypeScript) points at the field's path, line and column, or says it did not run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ts from 'typescript';
import { init } from '../../src/cli/init.js';
import { selfEntry } from '../../src/spec/config-file.js';
import { typeCheckConfig } from '../../src/spec/config-types.js';
import { UserInputError } from '../../src/spec/issues.js';
import { loadSpecFile, parseSpecText } from '../../src/spec/load.js';
import { dirSnapshot } from '../support/project.js';
import { repoRoot, templateNames, templateText } from '../support/templates.js';

const withDir = async (fn: (dir: string) => Promise<void> | void) => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-tsconfig-'));
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};
const withTypeScript = (dir: string) => {
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  symlinkSync(join(repoRoot, 'node_modules', 'typescript'), join(dir, 'node_modules', 'typescript'));
};

for (const name of templateNames) {
  test(`init --ts writes template "${name}" as a wharf.config.ts that evaluates to the same stack`, () =>
    withDir(async (dir) => {
      init(dir, name, false, { ts: true });
      const text = readFileSync(join(dir, 'wharf.config.ts'), 'utf8');
      assert.match(text, /^import \{ defineStack \} from 'wharf';\n\nexport default defineStack\(\{\n[^]*\n\}\);\n$/);
      // a // that starts a comment, not the one inside a quoted URL ('https://…')
      const code = text.replace(/'(?:[^'\\]|\\.)*'/g, "''");
      assert.doesNotMatch(code, /\/\/|\/\*|"/, 'comment-free, single quotes');
      const fromTs = await loadSpecFile(join(dir, 'wharf.config.ts'));
      const fromYaml = parseSpecText(templateText(name));
      const gist = (i: { path: string; severity: string; message: string }) => [i.path, i.severity, i.message];
      assert.deepEqual(fromTs.issues.map(gist), fromYaml.issues.map(gist));
      assert.deepEqual(fromTs.stack, fromYaml.stack);
    }));
}

test("init adds wharf:up and wharf:check to package.json, keeps the user's own script and indentation", () =>
  withDir((dir) => {
    writeFileSync(join(dir, 'package.json'), '{\n    "name": "app",\n    "scripts": {\n        "wharf:up": "make up"\n    }\n}\n');
    const r = init(dir, 'lab');
    assert.deepEqual(r.kept, ['package.json scripts.wharf:up']);
    assert.ok(r.created.includes('package.json scripts wharf:check'));
    assert.equal(
      readFileSync(join(dir, 'package.json'), 'utf8'),
      '{\n    "name": "app",\n    "scripts": {\n        "wharf:up": "make up",\n        "wharf:check": "wharf check"\n    }\n}\n',
    );
  }));

test('init with a broken package.json, or a wharf.yaml where --ts would write, leaves the directory byte-identical', () =>
  withDir((dir) => {
    writeFileSync(join(dir, 'package.json'), '{ "name": ');
    const before = dirSnapshot(dir);
    assert.throws(
      () => init(dir, 'lab'),
      (e: unknown) => e instanceof UserInputError && e.issues[0]!.path === 'package.json',
    );
    assert.deepEqual(dirSnapshot(dir), before);
    rmSync(join(dir, 'package.json'));
    writeFileSync(join(dir, 'wharf.yaml'), templateText('lab'));
    const only = dirSnapshot(dir);
    assert.throws(() => init(dir, 'lab', true, { ts: true }), /would be read instead of wharf\.config\.ts/);
    assert.deepEqual(dirSnapshot(dir), only);
  }));

const badConfig = `import { defineStack } from 'wharf';

export default defineStack({
  name: 'shop',
  domain: 'shop.localhost',
  services: {
    web: {
      image: 'traefik/whoami:v1.10.3',
      port: 80,
      routes: [{ host: 'web.shop.localhost' }, { host: 42 }],
    },
  },
});
`;

test('type errors carry the spec path, line and column; schema issues of the same config get positions too', () =>
  withDir(async (dir) => {
    const file = join(dir, 'wharf.config.ts');
    writeFileSync(file, badConfig);
    const issues = typeCheckConfig(file, selfEntry().types, ts);
    assert.deepEqual(
      issues.map((i) => [i.path, i.line, i.column, i.severity, i.hint]),
      [['services.web.routes[1].host', 10, 50, 'error', 'TS2322']],
    );
    assert.match(issues[0]!.message, /Type 'number' is not assignable to type 'string'/);
    withTypeScript(dir);
    const loaded = await loadSpecFile(file);
    assert.deepEqual(
      loaded.issues.map((i) => [i.path, i.file, i.line, i.column]),
      [['services.web.routes[1].host', 'wharf.config.ts', 10, 50]],
    );
  }));

test('without TypeScript in the project, check says types were not checked (a warning)', () =>
  withDir((dir) => {
    const file = join(dir, 'wharf.config.ts');
    writeFileSync(file, badConfig);
    const issues = typeCheckConfig(file, selfEntry().types);
    assert.deepEqual(
      issues.map((i) => [i.severity, i.message]),
      [['warning', 'types were not checked: no TypeScript installed in this project']],
    );
  }));
