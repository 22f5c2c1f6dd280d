// wharf the way a TypeScript user receives it: `npm pack`, the tarball installed into a fresh
// project with its own package.json and TypeScript (from the npm registry), a wharf.config.ts
// importing defineStack, then `npx wharf check|render` and `npx tsc --noEmit`. Then the same
// config from a clone (bin/wharf.js). One pack and one install serve every assertion.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { repoRoot } from '../support/templates.js';

const root = mkdtempSync(join(tmpdir(), 'wharf-pkg-'));
const user = join(root, 'user');
const typescriptRange = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).devDependencies.typescript as string;
let packed: { filename: string; size: number; unpackedSize: number; files: Array<{ path: string }> };

const run = (cwd: string, cmd: string, args: string[]) =>
  execa(cmd, args, {
    cwd,
    reject: false,
    all: true,
    env: { NO_COLOR: '1', npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' },
  });

before(
  async () => {
    // Pack what the tree holds now: the bundle and the type declarations are rebuilt first.
    const build = await run(repoRoot, process.execPath, ['scripts/bundle.mjs']);
    assert.equal(build.exitCode, 0, build.all);
    const pack = await run(repoRoot, 'npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', root]);
    assert.equal(pack.exitCode, 0, pack.all);
    packed = JSON.parse(pack.stdout)[0];
    mkdirSync(user);
    writeFileSync(
      join(user, 'package.json'),
      `${JSON.stringify({ name: 'wharf-user', version: '1.0.0', private: true, scripts: { 'wharf:up': 'echo mine' } }, null, 2)}\n`,
    );
    writeFileSync(
      join(user, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          skipLibCheck: true,
          noEmit: true,
        },
        include: ['wharf.config.ts'],
      }),
    );
    const install = await run(user, 'npm', [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--save-dev',
      join(root, packed.filename),
      `typescript@${typescriptRange}`,
    ]);
    assert.equal(install.exitCode, 0, install.all);
  },
  { timeout: 600_000 },
);

after(() => rmSync(root, { recursive: true, force: true }));

test('the tarball holds the CLI, the public API with types, templates and the reference API source; no tests, benchmarks, secrets or .wharf/', () => {
  const files = packed.files.map((f) => f.path).sort();
  console.log(
    `# ${packed.filename}: ${(packed.size / 1024 / 1024).toFixed(2)} MiB packed, ${(packed.unpackedSize / 1024 / 1024).toFixed(2)} MiB unpacked, ${files.length} files`,
  );
  for (const need of [
    'package.json',
    'README.md',
    'bin/wharf.js',
    'dist/bundle/wharf.cjs',
    'dist/bundle/k8s-models.cjs',
    'dist/bundle/index.js',
    'dist/bundle/index.cjs',
    'dist/types/index.d.ts',
    'dist/types/spec/schema.d.ts',
    'templates/api.yaml',
    'apps/api/src/server.ts',
    'apps/api/Dockerfile',
    'apps/api/package.json',
  ]) {
    assert.ok(files.includes(need), `${need} is missing from the tarball`);
  }
  const unwanted = files.filter(
    (f) => /(^|\/)(test|tests|bench|\.wharf|secrets|node_modules|\.ci|scripts)\//.test(f) || /\.test\.ts$|\.map$|^src\//.test(f),
  );
  assert.deepEqual(unwanted, []);
});

const config = (replicas: string) => `import { defineStack } from 'wharf';

export default defineStack({
  name: 'shop',
  domain: 'shop.localhost',
  services: {
    web: {
      image: 'traefik/whoami:v1.10.3',
      port: 80,
      replicas: ${replicas},
      routes: [{ host: 'web.shop.localhost' }],
      health: false,
    },
  },
});
`;
// Line 10, column 7: where `replicas` stands in the literal above.
const at = { line: 10, column: 7 };

test("installed: init --ts, then check, render and tsc pass on the valid config; package.json scripts added, the user's own kept", async () => {
  const init = await run(user, 'npx', ['wharf', 'init', '--ts', '--template', 'lab']);
  assert.equal(init.exitCode, 0, init.all);
  assert.match(
    readFileSync(join(user, 'wharf.config.ts'), 'utf8'),
    /^import \{ defineStack \} from 'wharf';\n\nexport default defineStack\(\{\n/,
  );
  const scripts = JSON.parse(readFileSync(join(user, 'package.json'), 'utf8')).scripts;
  assert.deepEqual(scripts, { 'wharf:up': 'echo mine', 'wharf:check': 'wharf check' });

  for (const text of [readFileSync(join(user, 'wharf.config.ts'), 'utf8'), config('2')]) {
    writeFileSync(join(user, 'wharf.config.ts'), text);
    const tsc = await run(user, 'npx', ['tsc', '--noEmit', '-p', '.']);
    assert.equal(tsc.exitCode, 0, tsc.all);
    const check = await run(user, 'npm', ['run', '--silent', 'wharf:check']);
    assert.equal(check.exitCode, 0, check.all);
    assert.doesNotMatch(check.all!, /types were not checked|error/);
  }
  const render = await run(user, 'npx', ['wharf', 'render']);
  assert.equal(render.exitCode, 0, render.all);
  assert.match(readFileSync(join(user, '.wharf', 'compose', 'compose.yaml'), 'utf8'), /image: traefik\/whoami:v1\.10\.3/);
});

test("installed: a wrong field type fails tsc and wharf check, both at the field's line and column, check with its path", async () => {
  writeFileSync(join(user, 'wharf.config.ts'), config("'two'"));
  const tsc = await run(user, 'npx', ['tsc', '--noEmit', '-p', '.']);
  assert.notEqual(tsc.exitCode, 0);
  assert.match(tsc.all!, new RegExp(`wharf\\.config\\.ts\\(${at.line},${at.column}\\): error TS2322`));
  const check = await run(user, 'npx', ['wharf', 'check']);
  assert.equal(check.exitCode, 2, check.all);
  const where = new RegExp(`wharf\\.config\\.ts:${at.line}:${at.column} services\\.web\\.replicas`);
  assert.match(check.all!, new RegExp(`types.*error.*${where.source}.*not assignable to type 'number'`));
  assert.match(check.all!, new RegExp(`spec.*error.*${where.source}.*expected number, got string "two"`));
});

test('from a clone: bin/wharf.js evaluates and type-checks a config importing wharf, without wharf in node_modules', async () => {
  const clone = join(root, 'clone-user');
  mkdirSync(join(clone, 'node_modules'), { recursive: true });
  writeFileSync(join(clone, 'package.json'), '{ "name": "clone-user", "private": true, "type": "module" }\n');
  const bin = join(repoRoot, 'bin', 'wharf.js');
  writeFileSync(join(clone, 'wharf.config.ts'), config('2'));
  // No TypeScript in the project yet: evaluated, and told that types were not checked.
  const bare = await run(clone, process.execPath, [bin, 'check']);
  assert.equal(bare.exitCode, 0, bare.all);
  assert.match(bare.all!, /types were not checked/);
  const render = await run(clone, process.execPath, [bin, 'render']);
  assert.equal(render.exitCode, 0, render.all);
  assert.ok(existsSync(join(clone, '.wharf', 'compose', 'compose.yaml')));
  // With the project's TypeScript, 'wharf' resolves to the clone's own types.
  symlinkSync(join(user, 'node_modules', 'typescript'), join(clone, 'node_modules', 'typescript'));
  const typed = await run(clone, process.execPath, [bin, 'check']);
  assert.equal(typed.exitCode, 0, typed.all);
  writeFileSync(join(clone, 'wharf.config.ts'), config("'two'"));
  const bad = await run(clone, process.execPath, [bin, 'check']);
  assert.equal(bad.exitCode, 2, bad.all);
  assert.match(bad.all!, new RegExp(`types.*error.*wharf\\.config\\.ts:${at.line}:${at.column} services\\.web\\.replicas`));
});
