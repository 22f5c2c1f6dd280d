// `wharf schema` is the zod schema as JSON Schema: editors validating wharf.yaml
// with it must agree with wharf on the templates and on obvious mistakes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';
import { jsonSchema } from '../../src/spec/schema.js';
import { isCidr, isIpAddress, isUrlPath, sizeBytes, staysInside } from '../../src/spec/grammar.js';
import { templateNames, templateText } from '../support/templates.js';

const { $schema: _draft, ...schema } = jsonSchema() as Record<string, unknown>;
const ajv = new Ajv({ allErrors: true, strict: false });
(addFormats as unknown as (a: Ajv) => void)(ajv);
const validate = ajv.compile(schema);

for (const name of templateNames) {
  test(`JSON Schema accepts template ${name}`, () => {
    assert.ok(validate(parse(templateText(name))), JSON.stringify(validate.errors));
  });
}

test('JSON Schema rejects unknown keys, bad enums and out-of-range ports', () => {
  const base = parse(templateText('api')) as Record<string, any>;
  for (const change of [
    (d: any) => {
      d.servces = d.services;
    },
    (d: any) => {
      d.proxy.kind = 'nginx';
    },
    (d: any) => {
      d.services.api.port = 70000;
    },
    (d: any) => {
      d.databases.db.engine = 'oracle';
    },
  ]) {
    const d = structuredClone(base);
    change(d);
    assert.equal(validate(d), false);
  }
});

test('JSON Schema carries the URL path grammar: editors refuse what wharf refuses', () => {
  const base = parse(templateText('api')) as Record<string, any>;
  for (const [path, ok] of [
    ['/health?a=1&b=2', true],
    ['/health\nHost: x', false],
    ['/h;x', false],
    ['//x', false],
  ] as const) {
    const d = structuredClone(base);
    d.services.api.health.path = path;
    assert.equal(validate(d), ok, path);
  }
});

test('grammar: URL paths, addresses, CIDRs, sizes and project paths', () => {
  const paths: Array<[string, boolean, boolean]> = [
    // value, valid with query, valid as a route prefix
    ['/', true, true],
    ['/health', true, true],
    ['/health?a=1&b=2', true, false],
    ['/a/b-c_d.e~f/%2F', true, true],
    ['/api/v1:x@y!(z)*+,=', true, true],
    ['/?', true, false],
    ['', false, false],
    ['health', false, false],
    ['//host/x', false, false],
    ['/a b', false, false],
    ['/a\n', false, false],
    ['/a\r', false, false],
    ['/a\t', false, false],
    ['/a"', false, false],
    ["/a'", false, false],
    ['/a\\b', false, false],
    ['/a;b', false, false],
    ['/a$b', false, false],
    ['/a`b', false, false],
    ['/a%', false, false],
    ['/a%g0', false, false],
    ['/a?b c', false, false],
    ['/a?b;c', false, false],
    ['/a#frag', false, false],
    ['/é', false, false],
    [`/${'a'.repeat(1024)}`, false, false],
  ];
  for (const [p, q, r] of paths) {
    assert.equal(isUrlPath(p, { query: true }), q, `${JSON.stringify(p)} with query`);
    assert.equal(isUrlPath(p, { query: false }), r, `${JSON.stringify(p)} as prefix`);
  }
  for (const [c, ok] of [
    ['10.0.0.0/8', true],
    ['0.0.0.0/0', true],
    ['1.2.3.4/32', true],
    ['::/0', true],
    ['fd00::/8', true],
    ['2001:db8::1/128', true],
    ['::ffff:1.2.3.4/128', true],
    ['999.999.999.999/99', false],
    ['10.0.0.0/33', false],
    ['fd00::/129', false],
    ['10.0.0.0', false],
    ['10.0.0.0/', false],
    ['10.0.0.0/-1', false],
    ['10.0.0.0/8 ', false],
    ['10.0.0.0/08x', false],
    ['a.b.c.d/8', false],
    ['10.0.0/8', false],
    ['fe80::1%eth0/64', false],
    ['10.0.0.0/8\n', false],
    ['/8', false],
  ] as const) {
    assert.equal(isCidr(c), ok, c);
  }
  for (const [a, ok] of [
    ['0.0.0.0', true],
    ['127.0.0.1', true],
    ['::', true],
    ['::1', true],
    ['0.0.0.0:80', false],
    ['localhost', false],
    ['[::1]', false],
    ['127.0.0.1\n', false],
    ['', false],
    ['01.2.3.4', false],
  ] as const) {
    assert.equal(isIpAddress(a), ok, a);
  }
  assert.equal(sizeBytes('256M'), 256 * 1024 ** 2);
  assert.equal(sizeBytes('1.5g'), 1.5 * 1024 ** 3);
  assert.equal(sizeBytes('0'), 0);
  assert.equal(sizeBytes('1 G'), undefined);
  for (const [p, ok] of [
    ['.', true],
    ['./apps/api', true],
    ['apps/../apps/api', true],
    ['./.wharf/backups', true],
    ['..', false],
    ['../x', false],
    ['a/../../x', false],
    ['/', false],
    ['/etc', false],
    ['a\nb', false],
    ['a\\..\\..', false],
  ] as const) {
    assert.equal(staysInside(p), ok, p);
  }
});
