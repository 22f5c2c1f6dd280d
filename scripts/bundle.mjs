#!/usr/bin/env node
// Bundles the CLI into dist/bundle/wharf.cjs (one file instead of hundreds of modules: startup is what `wharf render` costs).
// Also the package's public entry (`import { defineStack } from 'wharf'`) as ESM and CommonJS,
// and its type declarations in dist/types (emitted by tsc from the one schema).
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { pathToFileURL } from 'node:url';
import { join, resolve } from 'node:path';

// The backup scripts ship as text assets: src/render/backup/scripts.ts reads sh/*.sh from disk
// when run from source; in the bundle the same module imports each script through the text loader.
// The ACME client's script (src/render/acme/scripts.ts) and the WAL archiver's (render/pitr) ship the same way.
const backupScripts = {
  name: 'backup-scripts',
  setup(b) {
    b.onLoad({ filter: /[\\/]render[\\/](backup|acme|pitr)[\\/]scripts\.ts$/ }, (args) => {
      const backupDir = resolve(args.path, '..');
      const names = readdirSync(join(backupDir, 'sh'))
        .filter((n) => n.endsWith('.sh'))
        .sort();
      const imports = names.map((n, i) => `import s${i} from './sh/${n}';`).join('\n');
      const entries = names.map((n, i) => `${JSON.stringify(n)}: s${i}`).join(', ');
      return {
        contents: `${imports}\nexport const SCRIPT_NAMES = ${JSON.stringify(names)};\nexport const scripts = { ${entries} };\n`,
        loader: 'js',
        resolveDir: backupDir,
      };
    });
  },
};

// The notify relay's script (src/render/notify-relay/relay.mjs) is shipped as its text.
const relayScript = {
  name: 'relay-script',
  setup(b) {
    b.onLoad({ filter: /[\\/]render[\\/]notify-relay[\\/]scripts\.ts$/ }, (args) => ({
      contents: `export const relayScript = ${JSON.stringify(readFileSync(join(resolve(args.path, '..'), 'relay.mjs'), 'utf8'))};\n`,
      loader: 'js',
    }));
  },
};

// cron-parser requires luxon's CommonJS build and src/spec/cron.ts imports luxon (its ESM build):
// two copies, and the locale cron.ts pins would not be the one cron-parser's dates ask for.
const luxonPath = createRequire(import.meta.url).resolve('luxon');
const oneLuxon = {
  name: 'one-luxon',
  setup(b) {
    b.onResolve({ filter: /^luxon$/ }, () => ({ path: luxonPath }));
  },
};

// The Kubernetes models (~half of the CLI's bundle) serve only the k8s renderer, yet every command
// read and loaded them. The CLI bundle gets, for each models module it imports, a stand-in whose
// exports are getters that require dist/bundle/k8s-models.cjs (built after it, from the modules
// the CLI imported) on first use: one copy of the models, loaded by the commands that render k8s.
const k8sModels = /^(kubernetes-models|@kubernetes-models\/[^/]+)(\/|$)/;
const k8sImported = new Set();
const lazyK8sModels = {
  name: 'lazy-k8s-models',
  setup(b) {
    b.onResolve({ filter: k8sModels }, (args) => ({ path: args.path, namespace: 'k8s-models' }));
    b.onResolve({ filter: /^\.\/k8s-models\.cjs$/ }, (args) => ({ path: args.path, external: true }));
    b.onLoad({ filter: /.*/, namespace: 'k8s-models' }, async (args) => {
      k8sImported.add(args.path);
      const names = Object.keys(await import(args.path)).filter((n) => n !== 'default');
      const spec = JSON.stringify(args.path);
      return {
        contents: [
          'let m;',
          `const load = () => (m ??= require('./k8s-models.cjs').modules[${spec}]);`,
          "Object.defineProperty(exports, '__esModule', { value: true });",
          `for (const n of ${JSON.stringify(names)}) Object.defineProperty(exports, n, { enumerable: true, get: () => load()[n] });`,
        ].join('\n'),
        loader: 'js',
      };
    });
  },
};

const banner = { js: "import { createRequire as __wharfRequire } from 'node:module'; const require = __wharfRequire(import.meta.url);" };

// The spec's JSON Schema, converted from zod once here instead of on every render.
const schemaModule = {
  name: 'schema-text',
  setup(b) {
    b.onLoad({ filter: /[\\/]spec[\\/]schema-text\.ts$/ }, async () => {
      const tmp = mkdtempSync(join(tmpdir(), 'wharf-schema-'));
      try {
        const out = join(tmp, 'schema.mjs');
        await build({
          entryPoints: ['src/spec/schema-text.ts'],
          bundle: true,
          platform: 'node',
          format: 'esm',
          outfile: out,
          banner,
          logLevel: 'warning',
        });
        const { schemaText } = await import(pathToFileURL(out).href);
        return { contents: `export function schemaText() { return ${JSON.stringify(schemaText())}; }\n`, loader: 'js' };
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
    });
  },
};

// Chunk names carry content hashes: without a clean outdir old chunks pile up (and get packed).
rmSync('dist/bundle', { recursive: true, force: true });
rmSync('dist/types', { recursive: true, force: true });

// What every build shares; the CLI and the ESM entry also take every asset plugin (a plugin left
// out of one build once shipped a CLI that read relay.mjs from disk and failed).
const common = { bundle: true, platform: 'node', target: 'node20', logLevel: 'warning', legalComments: 'none', loader: { '.sh': 'text' } };
const assets = [backupScripts, relayScript, schemaModule, oneLuxon];

// The CLI: one CommonJS file that bin/wharf.js compiles with a V8 code cache (Node 20 has no
// module.enableCompileCache): compiling ~3 MB of modules was a large part of `wharf render`'s startup.
// import.meta.* become locals the file defines (its own URL) or bin/wharf.js passes (resolve).
await build({
  entryPoints: ['src/cli/run.ts'],
  ...common,
  format: 'cjs',
  outfile: 'dist/bundle/wharf.cjs',
  external: ['tsx', 'autocannon'],
  define: { 'import.meta.url': '__wharf_url', 'import.meta.resolve': '__wharf_resolve' },
  banner: { js: "const __wharf_url = require('node:url').pathToFileURL(__filename).href;" },
  minify: true,
  keepNames: true,
  plugins: [...assets, lazyK8sModels],
});

// The models the CLI imported, by module name (see lazyK8sModels).
await build({
  stdin: {
    contents: [...k8sImported]
      .sort()
      .map((m, i) => `import * as m${i} from ${JSON.stringify(m)};`)
      .concat(
        `export const modules = { ${[...k8sImported]
          .sort()
          .map((m, i) => `${JSON.stringify(m)}: m${i}`)
          .join(', ')} };`,
      )
      .join('\n'),
    resolveDir: process.cwd(),
    sourcefile: 'k8s-models.js',
    loader: 'js',
  },
  ...common,
  format: 'cjs',
  outfile: 'dist/bundle/k8s-models.cjs',
  minify: true,
});

// The package's public entry as ESM (code-split).
await build({
  entryPoints: { index: 'src/index.ts' },
  ...common,
  format: 'esm',
  splitting: true,
  outdir: 'dist/bundle',
  // tsx loads wharf.config.ts at run time; autocannon spawns workers from its own files.
  external: ['tsx', 'autocannon'],
  banner,
  plugins: assets,
});

// A config loaded as CommonJS (a project without "type": "module") requires 'wharf'.
await build({
  entryPoints: { index: 'src/index.ts' },
  ...common,
  format: 'cjs',
  outExtension: { '.js': '.cjs' },
  outdir: 'dist/bundle',
  plugins: [backupScripts, relayScript, oneLuxon],
});

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.types.json'], { stdio: 'inherit' });
