// Bundles the server and all its dependencies into one file, dist/server.js, so the runtime
// image needs no node_modules. Run from anywhere: `node apps/api/build.mjs`.
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

await build({
  absWorkingDir: dirname(fileURLToPath(import.meta.url)), // works from any cwd
  entryPoints: ['src/server.ts'],
  outfile: 'dist/server.js',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  minify: false,
  sourcemap: 'linked',
  legalComments: 'linked',
  // Optional native/edge add-ons that pg and others probe for; not used.
  external: ['pg-native', 'cloudflare:sockets'],
  banner: {
    js: "import { createRequire as __wharfCreateRequire } from 'node:module'; const require = __wharfCreateRequire(import.meta.url);",
  },
  logLevel: process.env.BUILD_QUIET ? 'warning' : 'info',
});
