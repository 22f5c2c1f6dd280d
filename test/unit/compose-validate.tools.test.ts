// Every rendered template must be accepted by the real Compose implementations
// and by the official compose-spec JSON Schema.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { execa } from 'execa';
import { parse } from 'yaml';
import { prepare } from '../../src/ops/prepare.js';
import { composeCommands, requireTool } from '../support/tools.js';
import { tempProject } from '../support/project.js';
import { loadVariant, repoRoot, variants } from '../support/templates.js';

const { $schema: _draft, ...schema } = JSON.parse(readFileSync(join(repoRoot, 'test/fixtures/compose-spec/compose-spec.json'), 'utf8')); // draft-07, which Ajv speaks natively
const ajv = new Ajv({ allErrors: true, strict: false });
const validate = ajv.compile(schema);
const composes = composeCommands();
const skip = requireTool(composes.length > 0, 'docker compose or docker-compose');

for (const v of variants) {
  test(`compose-spec schema accepts ${v.id}`, async () => {
    const p = tempProject(loadVariant(v).text);
    try {
      const prepared = await prepare({ specPath: p.spec });
      const doc = parse(readFileSync(join(prepared.outDir, 'compose.yaml'), 'utf8'));
      const ok = validate(doc);
      assert.ok(ok, JSON.stringify(validate.errors?.slice(0, 5), null, 2));
    } finally {
      p.cleanup();
    }
  });

  test(`compose config accepts ${v.id}`, { skip }, async () => {
    const p = tempProject(loadVariant(v).text);
    try {
      const prepared = await prepare({ specPath: p.spec });
      for (const c of composes) {
        const r = await execa(c.argv[0]!, [...c.argv.slice(1), '-f', 'compose.yaml', 'config'], { cwd: prepared.outDir, reject: false });
        assert.equal(r.exitCode, 0, `${c.name} config failed for ${v.id}:\n${r.stderr}`);
        const resolved = parse(r.stdout) as { services: Record<string, unknown> };
        assert.deepEqual(Object.keys(resolved.services).sort(), prepared.plan.components.map((x) => x.name).sort());
      }
    } finally {
      p.cleanup();
    }
  });
}
