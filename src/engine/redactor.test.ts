// The redactor against hostile secrets: regex metacharacters, values split over chunks at every
// offset, percent-encoded and base64 forms, overlapping secrets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { connectionUrl } from '../escape/url.js';
import { Redactor, redactText, secretForms } from './redactor.js';

const streamed = (secrets: string[], chunks: string[]) => {
  const r = new Redactor(secrets);
  return chunks.map((c) => r.push(c)).join('') + r.end();
};

test('a secret made of regex metacharacters is matched as plain text', () => {
  const s = '.*+?^${}()|[]\\';
  assert.equal(redactText(`a ${s} b .* c`, [s]), 'a *** b .* c');
  assert.equal(redactText('nothing here at all', ['(.*)+$']), 'nothing here at all');
});

test('the longest secret wins where two start at the same place; short values are never masked', () => {
  assert.equal(redactText('x=abcdef123456 y=abcdef', ['abcdef', 'abcdef123456']), 'x=*** y=***');
  assert.equal(redactText('port 5432 and 12345', ['5432', '12345']), 'port 5432 and 12345');
});

test('a secret split across chunks at every offset is still masked, and nothing else changes', () => {
  const secret = 'Zk9$q.L*2w+x';
  const text = `start ${secret} middle ${secret}end`;
  for (let i = 0; i <= text.length; i++)
    for (let j = i; j <= text.length; j++)
      assert.equal(streamed([secret], [text.slice(0, i), text.slice(i, j), text.slice(j)]), 'start *** middle ***end', `cuts ${i},${j}`);
});

test('streamed in any chunking, the output equals the whole text redacted (property)', () => {
  const alphabet = fc.constantFrom('a', 'b', '.', '*', '%', '\n', 'ab');
  fc.assert(
    fc.property(
      fc.array(fc.string({ unit: alphabet, minLength: 6, maxLength: 10 }), { minLength: 1, maxLength: 3 }),
      fc.array(fc.string({ unit: alphabet, maxLength: 12 }), { maxLength: 8 }),
      (secrets, chunks) => {
        assert.equal(streamed(secrets, chunks), redactText(chunks.join(''), secrets));
      },
    ),
    { numRuns: 500 },
  );
});

test('percent-encoded and base64 forms of a value are masked too', () => {
  const password = 'p@ss:w/rd?#%20x';
  const url = connectionUrl({ scheme: 'postgres', user: 'app', password, host: 'db', port: 5432, database: 'app' });
  const forms = secretForms([password]);
  const printed = `connecting to ${url} with ${Buffer.from(password).toString('base64')} and ${encodeURIComponent(password)}`;
  const out = redactText(printed, forms);
  assert.equal(out, 'connecting to postgres://app:***@db:5432/app with *** and ***');
  assert.ok(!out.includes('rd'), out);
});

test('secretForms: each form once, longest first, nothing shorter than the minimum', () => {
  const f = secretForms(['abc', 'Abcdefgh12']);
  assert.ok(f.includes('Abcdefgh12') && f.includes(Buffer.from('Abcdefgh12').toString('base64')));
  assert.ok(!f.includes('abc'));
  assert.deepEqual(f, [...new Set(f)]);
  assert.deepEqual(secretForms(['Abcdefgh12\n']), f, "a file's trailing newline is not masked");
  for (let i = 1; i < f.length; i++) assert.ok(f[i - 1]!.length >= f[i]!.length);
});
