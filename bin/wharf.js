#!/usr/bin/env node
// Runs the bundled CLI; in a source checkout without a build, the TypeScript through tsx.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const bundled = fileURLToPath(new URL('../dist/bundle/wharf.js', import.meta.url));
if (existsSync(bundled)) {
  await import(pathToFileURL(bundled).href);
} else {
  const { tsImport } = await import('tsx/esm/api');
  await tsImport(new URL('../src/cli/run.ts', import.meta.url).href, import.meta.url);
}
