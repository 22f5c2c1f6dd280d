#!/usr/bin/env node
// Runs the built CLI; in a source checkout without a build, runs the TypeScript through tsx.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const built = fileURLToPath(new URL('../dist/cli/run.js', import.meta.url));
if (existsSync(built)) {
  await import(pathToFileURL(built).href);
} else {
  const { tsImport } = await import('tsx/esm/api');
  await tsImport(new URL('../src/cli/run.ts', import.meta.url).href, import.meta.url);
}
