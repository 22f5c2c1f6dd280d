#!/usr/bin/env node
// The size rules of issue 28 for src/: no hand-written file over 400 lines, and at most 20 lines
// over 160 characters in all (a formatter wraps code; what it cannot wrap is a long string).
// Generated files (first line says "Generated ... Do not edit") are exempt. Part of `npm run lint`.
//
// scripts/size-debt.json names the files still over the limit and the long-line count today: a
// ratchet. A listed file may shrink but not grow, a file that is back under the limit must leave
// the list, and no new file may join it. `node scripts/check-size.mjs --write-debt` rewrites it.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const MAX_LINES = 400;
const MAX_WIDTH = 160;
const MAX_WIDE_LINES = 20;
const DEBT_FILE = 'scripts/size-debt.json';

function* sources(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* sources(p);
    else if (/\.(ts|mjs|cjs|js)$/.test(e.name)) yield p;
  }
}

const counts = new Map();
let wide = 0;
for (const file of [...sources('src')].sort()) {
  const lines = readFileSync(file, 'utf8').split('\n');
  if (/generated .*do not edit/i.test(lines[0] ?? '')) continue;
  counts.set(file, lines.at(-1) === '' ? lines.length - 1 : lines.length);
  wide += lines.filter((l) => l.length > MAX_WIDTH).length;
}
const over = [...counts].filter(([, n]) => n > MAX_LINES);

if (process.argv.includes('--write-debt')) {
  const debt = { files: Object.fromEntries(over), wideLines: Math.max(wide, MAX_WIDE_LINES) };
  writeFileSync(DEBT_FILE, JSON.stringify(debt, null, 2) + '\n');
  console.log(`wrote ${DEBT_FILE}: ${over.length} files over ${MAX_LINES} lines, ${wide} lines over ${MAX_WIDTH} characters`);
  process.exit(0);
}

const debt = JSON.parse(readFileSync(DEBT_FILE, 'utf8'));
const problems = [];
for (const [file, n] of over) {
  const allowed = debt.files[file];
  if (allowed === undefined) problems.push(`${file}: ${n} lines (at most ${MAX_LINES}; split it)`);
  else if (n > allowed) problems.push(`${file}: ${n} lines, grew past its recorded ${allowed} (at most ${MAX_LINES}; split it)`);
}
for (const file of Object.keys(debt.files)) {
  if (!(counts.get(file) > MAX_LINES)) problems.push(`${file}: now within ${MAX_LINES} lines (or gone): remove it from ${DEBT_FILE}`);
}
const wideAllowed = Math.max(debt.wideLines ?? 0, MAX_WIDE_LINES);
if (wide > wideAllowed) problems.push(`${wide} lines in src/ over ${MAX_WIDTH} characters (at most ${wideAllowed})`);

for (const p of problems) console.error(p);
if (problems.length) process.exit(1);
const owed = over.length ? `; still owed: ${over.length} files over ${MAX_LINES} lines (${DEBT_FILE})` : '';
console.log(`size: ${wide} lines over ${MAX_WIDTH} characters (allowed ${wideAllowed})${owed}`);
