// The benchmark's seed extraction: seed 002's app.js and package.json come out exactly as the seed
// gives them (the benchmark itself, bench/api/run.ts, needs the registry and fixed ports: run by hand).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { SEED, extractSeedApp } from '../../../bench/api/run.js';

test('seed 002 app.js and package.json are extracted verbatim', { skip: existsSync(SEED) ? false : `no seed at ${SEED}` }, () => {
  const md = readFileSync(SEED, 'utf8');
  const { appJs, packageJson } = extractSeedApp(md);
  assert.ok(md.includes(appJs), 'app.js is a verbatim block of the seed');
  assert.ok(md.includes(packageJson), 'package.json is a verbatim block of the seed');
  assert.match(appJs, /^const express = require\('express'\);/);
  assert.match(appJs, /app\.get\('\/api\/data'/);
  assert.match(appJs, /setEx\('data_cache', 60, data\)/);
  const pkg = JSON.parse(packageJson) as { dependencies: Record<string, string> };
  assert.deepEqual(Object.keys(pkg.dependencies).sort(), ['express', 'pg', 'prom-client', 'redis']);
});
