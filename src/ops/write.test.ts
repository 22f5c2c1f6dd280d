// writeFiles and the manifest of rendered files: a manifest and links committed to a repository
// are data to check, never orders. Temporary directories only: pure tier.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFiles } from './write.js';
import { UserInputError } from '../spec/issues.js';
import { dirSnapshot } from '../../test/support/project.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

function sandbox() {
  const top = mkdtempSync(join(tmpdir(), 'wharf-write-'));
  const root = join(top, 'project');
  const outside = join(top, 'outside');
  mkdirSync(join(root, '.wharf', 'compose'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(outside, 'keep.txt'), 'precious\n');
  return { root, outDir: join(root, '.wharf', 'compose'), outside, cleanup: () => rmSync(top, { recursive: true, force: true }) };
}

const manifest = (outDir: string, value: unknown) => writeFileSync(join(outDir, '.wharf-manifest.json'), JSON.stringify(value));

test('a committed manifest naming a file behind a symlinked directory deletes nothing outside (old list and forged hash alike)', () => {
  const s = sandbox();
  try {
    symlinkSync(s.outside, join(s.outDir, 'evil'));
    const before = dirSnapshot(s.outside);
    manifest(s.outDir, ['evil/keep.txt', '../../../outside/keep.txt']);
    const first = writeFiles(s.outDir, [{ path: 'compose.yaml', contents: 'a: 1\n' }], s.root);
    assert.deepEqual(first.removed, []);
    assert.deepEqual(dirSnapshot(s.outside), before);
    manifest(s.outDir, { version: 2, files: { 'evil/keep.txt': sha('precious\n') } });
    const second = writeFiles(s.outDir, [{ path: 'compose.yaml', contents: 'a: 1\n' }], s.root);
    assert.deepEqual(second.removed, []);
    assert.deepEqual(second.kept, ['evil/keep.txt']);
    assert.deepEqual(dirSnapshot(s.outside), before);
  } finally {
    s.cleanup();
  }
});

test('a manifest entry naming a directory is left alone and the render succeeds', () => {
  const s = sandbox();
  try {
    mkdirSync(join(s.outDir, 'grafana'));
    manifest(s.outDir, { version: 2, files: { grafana: sha('x') } });
    const r = writeFiles(s.outDir, [{ path: 'compose.yaml', contents: 'a: 1\n' }], s.root);
    assert.deepEqual(r.kept, ['grafana']);
  } finally {
    s.cleanup();
  }
});

test('a file wharf wrote is removed once no longer rendered; one changed since is kept', () => {
  const s = sandbox();
  try {
    writeFiles(
      s.outDir,
      [
        { path: 'a.yml', contents: 'a\n' },
        { path: 'b.yml', contents: 'b\n' },
        { path: 'c.yml', contents: 'c\n' },
      ],
      s.root,
    );
    writeFileSync(join(s.outDir, 'b.yml'), 'edited by hand\n');
    const r = writeFiles(s.outDir, [{ path: 'c.yml', contents: 'c\n' }], s.root);
    assert.deepEqual(r.removed, ['a.yml']);
    assert.deepEqual(r.kept, ['b.yml']);
    assert.deepEqual(r.unchanged, ['c.yml']);
    assert.equal(readFileSync(join(s.outDir, 'b.yml'), 'utf8'), 'edited by hand\n');
  } finally {
    s.cleanup();
  }
});

test('an output directory (or a subdirectory) that is a link out of the project: exit 2 before any file is written', () => {
  const s = sandbox();
  try {
    rmSync(s.outDir, { recursive: true });
    symlinkSync(s.outside, s.outDir);
    const before = dirSnapshot(s.outside);
    assert.throws(
      () => writeFiles(s.outDir, [{ path: 'compose.yaml', contents: 'a: 1\n' }], s.root),
      (e: unknown) => e instanceof UserInputError && e.issues[0]!.path === '.wharf/compose',
    );
    assert.deepEqual(dirSnapshot(s.outside), before);
    rmSync(s.outDir);
    mkdirSync(s.outDir);
    symlinkSync(s.outside, join(s.outDir, 'traefik'));
    const project = dirSnapshot(s.root);
    assert.throws(
      () =>
        writeFiles(
          s.outDir,
          [
            { path: 'compose.yaml', contents: 'a: 1\n' },
            { path: 'traefik/traefik.yml', contents: 't\n' },
          ],
          s.root,
        ),
      (e: unknown) => e instanceof UserInputError && e.issues[0]!.path === '.wharf/compose/traefik',
    );
    assert.deepEqual(dirSnapshot(s.root), project, 'compose.yaml was not written either');
    assert.deepEqual(dirSnapshot(s.outside), before);
  } finally {
    s.cleanup();
  }
});

test('temporaries an interrupted render left behind are removed by the next one', () => {
  const s = sandbox();
  try {
    mkdirSync(join(s.outDir, 'traefik'));
    writeFileSync(join(s.outDir, 'traefik', 'traefik.yml.wharf-tmp-999999'), '');
    writeFileSync(join(s.outDir, 'compose.yaml.wharf-tmp-1'), 'half');
    const r = writeFiles(s.outDir, [{ path: 'compose.yaml', contents: 'a: 1\n' }], s.root);
    assert.deepEqual(r.removed.sort(), ['compose.yaml.wharf-tmp-1', 'traefik/traefik.yml.wharf-tmp-999999']);
    assert.deepEqual(Object.keys(dirSnapshot(s.outDir)).sort(), ['.wharf-manifest.json', 'compose.yaml', 'traefik/']);
  } finally {
    s.cleanup();
  }
});

test('a render of unchanged files writes nothing, the manifest included; a changed file rewrites it', () => {
  const s = sandbox();
  try {
    const files = [{ path: 'compose.yaml', contents: 'a: 1\n' }];
    writeFiles(s.outDir, files, s.root);
    const manifestPath = join(s.outDir, '.wharf-manifest.json');
    const before = statSync(manifestPath);
    const again = writeFiles(s.outDir, files, s.root);
    assert.deepEqual(again.written, []);
    assert.equal(statSync(manifestPath).ino, before.ino, 'the manifest was not replaced');
    writeFiles(s.outDir, [{ path: 'compose.yaml', contents: 'a: 2\n' }], s.root);
    assert.notEqual(statSync(manifestPath).ino, before.ino);
    assert.deepEqual(JSON.parse(readFileSync(manifestPath, 'utf8')), { version: 2, files: { 'compose.yaml': sha('a: 2\n') } });
  } finally {
    s.cleanup();
  }
});
