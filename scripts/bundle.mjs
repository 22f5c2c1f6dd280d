#!/usr/bin/env node
// Bundles the CLI into dist/bundle/ (code-split so lazily loaded ops stay lazy).
// One file per chunk instead of hundreds of modules: startup is what `wharf render` costs.
import { build } from 'esbuild';

await build({
  entryPoints: { wharf: 'src/cli/run.ts' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  splitting: true,
  outdir: 'dist/bundle',
  // tsx loads wharf.config.ts at run time; autocannon spawns workers from its own files.
  external: ['tsx', 'autocannon'],
  banner: { js: "import { createRequire as __wharfRequire } from 'node:module'; const require = __wharfRequire(import.meta.url);" },
  logLevel: 'warning',
  legalComments: 'none',
});
