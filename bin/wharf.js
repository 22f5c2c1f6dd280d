#!/usr/bin/env node
// Runs the bundled CLI; in a source checkout without a build, the TypeScript through tsx.
import { existsSync } from 'node:fs';
import module from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

// Node >= 22.1 keeps V8's compiled code of the bundle on disk: later runs skip most of the
// compilation (a large part of `wharf render`'s startup). Older Node: nothing happens.
module.enableCompileCache?.();

const bundled = fileURLToPath(new URL('../dist/bundle/wharf.js', import.meta.url));
if (existsSync(bundled)) {
  await import(pathToFileURL(bundled).href);
} else {
  const { tsImport } = await import('tsx/esm/api');
  await tsImport(new URL('../src/cli/run.ts', import.meta.url).href, import.meta.url);
}
