// fs/confined.ts: paths that leave the project are refused, also through links, and nothing
// is ever written or deleted through a link. Temporary directories only: pure tier.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertWritable, confine, mkdirInside, readInside, removeInside, writeInside } from './confined.js';
import { UserInputError } from '../spec/issues.js';

function sandbox() {
  const top = mkdtempSync(join(tmpdir(), 'wharf-confined-'));
  const root = join(top, 'project');
  const outside = join(top, 'outside');
  mkdirSync(root);
  mkdirSync(outside);
  writeFileSync(join(outside, 'sentinel'), 'outside\n');
  return { root, outside, cleanup: () => rmSync(top, { recursive: true, force: true }) };
}

const refusedAt = (fn: () => unknown, path: RegExp) =>
  assert.throws(fn, (e: unknown) => e instanceof UserInputError && path.test(e.issues[0]!.path) && e.issues[0]!.severity === 'error');

test('paths that leave the root lexically, or through a link to a directory or a file outside, are refused with the link named', () => {
  const s = sandbox();
  try {
    symlinkSync(s.outside, join(s.root, '.wharf'));
    symlinkSync(join(s.outside, 'sentinel'), join(s.root, 'key.pem'));
    symlinkSync(join(s.outside, 'missing'), join(s.root, 'dangling'));
    refusedAt(() => confine(s.root, '../outside/sentinel'), /outside\/sentinel/);
    refusedAt(() => confine(s.root, join(s.outside, 'sentinel')), /sentinel/);
    refusedAt(() => confine(s.root, '.wharf/compose/compose.yaml'), /^\.wharf$/);
    refusedAt(() => confine(s.root, 'key.pem', { what: 'tls.key' }), /^tls\.key$/);
    refusedAt(() => confine(s.root, 'dangling'), /^dangling$/);
  } finally {
    s.cleanup();
  }
});

test('links that stay inside the root are followed; an absolute path elsewhere passes only when allowed', () => {
  const s = sandbox();
  try {
    mkdirSync(join(s.root, 'real'));
    symlinkSync('real', join(s.root, 'alias'));
    assert.equal(confine(s.root, 'alias/x').real, join(confine(s.root, 'real').real, 'x'));
    assert.equal(confine(s.root, join(s.outside, 'sentinel'), { allowAbsolute: true }).real.endsWith('sentinel'), true);
    refusedAt(() => confine(s.root, '../outside/sentinel', { allowAbsolute: true }), /sentinel/);
  } finally {
    s.cleanup();
  }
});

test('writeInside follows a link that stays inside, refuses one leading out, sets the modes asked and leaves no temporary file', () => {
  const s = sandbox();
  try {
    symlinkSync(join(s.root, 'inside-target'), join(s.root, 'spec.yaml'));
    writeFileSync(join(s.root, 'inside-target'), 'old');
    writeInside(s.root, 'spec.yaml', 'new');
    assert.equal(readFileSync(join(s.root, 'inside-target'), 'utf8'), 'new', 'a link inside the project is followed');
    symlinkSync(join(s.outside, 'sentinel'), join(s.root, 'out.yaml'));
    refusedAt(() => writeInside(s.root, 'out.yaml', 'x'), /out\.yaml/);
    assert.equal(readFileSync(join(s.outside, 'sentinel'), 'utf8'), 'outside\n');
    writeInside(s.root, 'a/b/secret', 's', { mode: 0o600, dirMode: 0o700 });
    assert.equal(lstatSync(join(s.root, 'a/b/secret')).mode & 0o777, 0o600);
    assert.equal(lstatSync(join(s.root, 'a')).mode & 0o777, 0o700);
    assert.deepEqual(
      readdir(s.root).filter((f) => f.includes('wharf-tmp')),
      [],
    );
  } finally {
    s.cleanup();
  }
});

test('removeInside deletes regular files only: never a link, a directory, or anything outside', () => {
  const s = sandbox();
  try {
    symlinkSync(s.outside, join(s.root, 'evil'));
    symlinkSync(join(s.outside, 'sentinel'), join(s.root, 'link'));
    mkdirSync(join(s.root, 'dir'));
    writeFileSync(join(s.root, 'mine'), 'x');
    assert.equal(removeInside(s.root, 'evil/sentinel'), false);
    assert.equal(removeInside(s.root, 'link'), false);
    assert.equal(removeInside(s.root, 'dir'), false);
    assert.equal(removeInside(s.root, '../outside/sentinel'), false);
    assert.equal(removeInside(s.root, 'mine'), true);
    assert.equal(readFileSync(join(s.outside, 'sentinel'), 'utf8'), 'outside\n');
    assert.equal(readlinkSync(join(s.root, 'link')), join(s.outside, 'sentinel'));
    assert.ok(existsSync(join(s.root, 'dir')));
  } finally {
    s.cleanup();
  }
});

test('assertWritable reports every refused path at once, one issue per link; mkdirInside and readInside are confined too', () => {
  const s = sandbox();
  try {
    symlinkSync(s.outside, join(s.root, '.wharf'));
    assert.throws(
      () => assertWritable(s.root, ['.wharf/compose', '.wharf/secrets', { path: join(s.outside, 'backups'), allowAbsolute: true }]),
      (e: unknown) => e instanceof UserInputError && e.issues.length === 1 && e.issues[0]!.path === '.wharf',
    );
    refusedAt(() => mkdirInside(s.root, '.wharf/backups'), /^\.wharf$/);
    assert.ok(!existsSync(join(s.outside, 'backups')));
    refusedAt(() => readInside(s.root, '.wharf/sentinel', { what: 'secrets.x.file' }), /^secrets\.x\.file$/);
    refusedAt(() => readInside(s.root, 'nope', { what: 'secrets.x.file' }), /^secrets\.x\.file$/);
  } finally {
    s.cleanup();
  }
});

function readdir(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      out.push(p);
      if (lstatSync(p).isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}
