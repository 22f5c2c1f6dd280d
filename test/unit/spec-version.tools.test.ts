// Spec versions: the table of migrations is walked step by step, a YAML spec keeps its
// comments, and a newer or unknown version is refused with a path-named error. The shipped
// table is empty (version 1 is the only one), so the mechanism is tested with a table of its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { parseDocument, type Document } from 'yaml';
import { migrateDocument, migrateValue, migrations, SPEC_VERSION, versionState, type Migration } from '../../src/spec/migrate.js';
import { migrateSpecFile } from '../../src/ops/migrate.js';
import { parseSpecText } from '../../src/spec/load.js';
import { UserInputError } from '../../src/spec/issues.js';
import { repoRoot, templateText } from '../support/templates.js';

// A made-up history: v1 called it `web`, v2 `site`, v3 `services`.
const rename = (from: string, to: string) => (doc: Document) => {
  doc.set(to, doc.get(from));
  doc.delete(from);
};
const table: Migration[] = [
  { from: 2, describe: 'site is now services', apply: rename('site', 'services') },
  { from: 1, describe: 'web is now site', apply: rename('web', 'site') },
];

test('the shipped table reaches the current version from every version it names', () => {
  assert.equal(SPEC_VERSION, 1);
  for (const m of migrations) assert.equal(versionState(m.from).kind, 'older');
  assert.deepEqual(versionState(undefined), { kind: 'current' });
  assert.deepEqual(versionState(1), { kind: 'current' });
});

test('newer, fractional, textual and zero versions are refused with what this wharf reads', () => {
  const cases: Array<[unknown, RegExp]> = [
    [2, /spec version 2 is newer than this wharf understands \(versions 1 to 1\)/],
    [1.5, /expected a spec version \(a whole number from 1 to 1\), got 1\.5/],
    ['1', /got "1"/],
    [0, /got 0/],
  ];
  for (const [v, re] of cases) {
    const s = versionState(v);
    assert.equal(s.kind, 'bad');
    if (s.kind === 'bad') {
      assert.equal(s.issue.path, 'version');
      assert.match(s.issue.message, re);
    }
  }
});

test('an older YAML spec is migrated step by step in order, comments kept, version set', () => {
  const doc = parseDocument('# my stack\nversion: 1\nname: shop # the name\nweb:\n  api: { port: 80 }\n');
  const r = migrateDocument(doc, table, 3);
  assert.deepEqual(
    r.steps.map((s) => s.describe),
    ['web is now site', 'site is now services'],
  );
  const text = doc.toString();
  assert.match(text, /^# my stack\nversion: 3\nname: shop # the name\n/);
  assert.deepEqual(doc.toJS(), { version: 3, name: 'shop', services: { api: { port: 80 } } });
  assert.deepEqual(migrateValue({ version: 2, site: { a: 1 } }, table, 3).value, { version: 3, services: { a: 1 } });
});

test('a gap in the table is named, not skipped', () => {
  const r = migrateDocument(parseDocument('version: 1\n'), [table[1]!], 3);
  assert.match(r.issue!.message, /no migration from spec version 2 to 3/);
});

test('migrateSpecFile rewrites the file whole (dry run writes nothing); a newer spec leaves it byte-identical', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-migrate-'));
  try {
    const file = join(dir, 'wharf.yaml');
    const old = '# keep me\nversion: 1\nweb: {}\n';
    writeFileSync(file, old);
    const dry = await migrateSpecFile(file, { table, current: 3, dryRun: true });
    assert.equal(dry.written, false);
    assert.equal(readFileSync(file, 'utf8'), old);
    const r = await migrateSpecFile(file, { table, current: 3 });
    assert.deepEqual([r.from, r.to, r.written], [1, 3, true]);
    assert.equal(readFileSync(file, 'utf8'), '# keep me\nversion: 3\nservices: {}\n');
    writeFileSync(file, 'version: 9\nname: x\n');
    await assert.rejects(
      migrateSpecFile(file, { table, current: 3 }),
      (e: unknown) => e instanceof UserInputError && /version 9 is newer/.test(e.issues[0]!.message),
    );
    assert.equal(readFileSync(file, 'utf8'), 'version: 9\nname: x\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('check and migrate from the CLI: a newer version exits 2 at its line; a current spec has nothing to migrate', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-migrate-'));
  try {
    const bin = join(repoRoot, 'bin', 'wharf.js');
    writeFileSync(join(dir, 'wharf.yaml'), templateText('lab'));
    const same = await execa(process.execPath, [bin, 'migrate'], { cwd: dir, reject: false });
    assert.equal(same.exitCode, 0, same.stderr);
    assert.match(same.stdout, /already spec version 1, nothing to do/);
    const res = parseSpecText(`version: 2\n${templateText('lab')}`, 'wharf.yaml');
    assert.deepEqual(
      res.issues.map((i) => [i.path, i.line, i.column]),
      [['version', 1, 1]],
    );
    writeFileSync(join(dir, 'wharf.yaml'), `version: 2\n${templateText('lab')}`);
    const check = await execa(process.execPath, [bin, 'check'], { cwd: dir, reject: false, env: { NO_COLOR: '1' } });
    assert.equal(check.exitCode, 2);
    assert.match(check.stdout, /wharf\.yaml:1:1 version.*newer than this wharf understands/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
