// `wharf schema` is the zod schema as JSON Schema: editors validating wharf.yaml
// with it must agree with wharf on the templates and on obvious mistakes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';
import { jsonSchema } from '../../src/spec/schema.js';
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
    (d: any) => { d.servces = d.services; },
    (d: any) => { d.proxy.kind = 'nginx'; },
    (d: any) => { d.services.api.port = 70000; },
    (d: any) => { d.databases.db.engine = 'oracle'; },
  ]) {
    const d = structuredClone(base);
    change(d);
    assert.equal(validate(d), false);
  }
});
