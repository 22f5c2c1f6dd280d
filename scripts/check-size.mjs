#!/usr/bin/env node
// The size rules of issue 28 for src/: no hand-written file over 400 lines, and at most 20 lines
// over 160 characters in all (a formatter wraps code; what it cannot wrap is a long string).
// Generated files (first line says "Generated ... Do not edit") are exempt. Part of `npm run lint`.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const MAX_LINES = 400;
const MAX_WIDTH = 160;
const MAX_WIDE_LINES = 20;

function* sources(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* sources(p);
    else if (/\.(ts|mjs|cjs|js)$/.test(e.name)) yield p;
  }
}

const long = [];
const wide = [];
for (const file of [...sources('src')].sort()) {
  const lines = readFileSync(file, 'utf8').split('\n');
  if (/generated .*do not edit/i.test(lines[0] ?? '')) continue;
  const count = lines.at(-1) === '' ? lines.length - 1 : lines.length;
  if (count > MAX_LINES) long.push(`${file}: ${count} lines (at most ${MAX_LINES})`);
  lines.forEach((l, i) => l.length > MAX_WIDTH && wide.push(`${file}:${i + 1}: ${l.length} characters`));
}

for (const l of long) console.error(l);
if (wide.length > MAX_WIDE_LINES) {
  const perFile = new Map();
  for (const w of wide) perFile.set(w.split(':')[0], (perFile.get(w.split(':')[0]) ?? 0) + 1);
  for (const [f, n] of [...perFile].sort((a, b) => b[1] - a[1])) console.error(`${f}: ${n} lines over ${MAX_WIDTH} characters`);
  console.error(`${wide.length} lines in src/ over ${MAX_WIDTH} characters (at most ${MAX_WIDE_LINES})`);
}
if (long.length || wide.length > MAX_WIDE_LINES) process.exit(1);
console.log(`size: no file over ${MAX_LINES} lines, ${wide.length} lines over ${MAX_WIDTH} characters (at most ${MAX_WIDE_LINES})`);
