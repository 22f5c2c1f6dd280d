// The YAML texts the bundled CLI keeps between runs: found again only for the same data, and
// the file is written only by a run that rendered something new.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keepYamlIn, toYaml } from '../render/files.js';
import { yamlCacheFile } from './yaml-cache.js';

function tempFile(): { file: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-yaml-cache-'));
  return { file: join(dir, 'yaml.json'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

test('a text saved by one run is found by the next for the same key, and for no other key', (t) => {
  const { file, cleanup } = tempFile();
  t.after(cleanup);
  const first = yamlCacheFile(file);
  assert.equal(first.get('["h",{"a":1}]'), undefined);
  first.set('["h",{"a":1}]', 'a: 1\n');
  first.save();
  const next = yamlCacheFile(file);
  assert.equal(next.get('["h",{"a":1}]'), 'a: 1\n');
  assert.equal(next.get('["h",{"a":2}]'), undefined);
  assert.ok(!readFileSync(file, 'utf8').includes('"a"'), 'entries are named by a hash of the key, not the data');
  assert.equal(statSync(file).mode & 0o777, 0o600);
});

test('a run that rendered nothing new writes nothing', (t) => {
  const { file, cleanup } = tempFile();
  t.after(cleanup);
  const empty = yamlCacheFile(file);
  assert.equal(empty.get('k'), undefined);
  empty.save();
  assert.equal(existsSync(file), false);
  const first = yamlCacheFile(file);
  first.set('k', 'v\n');
  first.save();
  const before = readFileSync(file, 'utf8');
  const next = yamlCacheFile(file);
  assert.equal(next.get('k'), 'v\n');
  next.save();
  assert.equal(readFileSync(file, 'utf8'), before);
});

test('an unreadable cache file renders as if empty', (t) => {
  const { file, cleanup } = tempFile();
  t.after(cleanup);
  const first = yamlCacheFile(file);
  first.set('k', 'v\n');
  first.save();
  const text = readFileSync(file, 'utf8');
  writeFileSync(file, text.slice(0, 10));
  assert.equal(yamlCacheFile(file).get('k'), undefined);
});

test('toYaml keeps its texts in the store and gives the same bytes from it', (t) => {
  const { file, cleanup } = tempFile();
  t.after(() => {
    keepYamlIn(undefined);
    cleanup();
  });
  const data = { services: { web: { image: 'nginx:1.27', ports: ['80:80'], command: ['sh', '-c', 'echo "no"'] } }, on: 'yes' };
  const fresh = yamlCacheFile(file);
  keepYamlIn(fresh);
  const text = toYaml(data, 'header line');
  fresh.save();
  const next = yamlCacheFile(file);
  assert.equal(next.get(JSON.stringify(['header line', data])), text);
});
