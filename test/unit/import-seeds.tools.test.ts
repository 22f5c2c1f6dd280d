// The seeds' own Compose files import into specs equivalent to the templates they became (api,
// haproxy-mysql, lab): the same edge, the same database and cache engines, routed services using
// them. Every other difference from the template is printed (the README lists them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { importJson } from '../support/import-cli.js';
import { repoRoot } from '../support/templates.js';

type Doc = Record<string, any>;

/** Leaf paths of a spec, services keyed by position among routed ones so renamed services still line up. */
function leaves(v: unknown, at = ''): Map<string, string> {
  const out = new Map<string, string>();
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) for (const [p, y] of leaves(x, at ? `${at}.${k}` : k)) out.set(p, y);
  } else out.set(at, JSON.stringify(v));
  return out;
}

function differences(template: Doc, imported: Doc): string[] {
  const a = leaves(template);
  const b = leaves(imported);
  const out: string[] = [];
  for (const [p, v] of a) if (!b.has(p)) out.push(`template only: ${p} = ${v}`);
  for (const [p, v] of b) if (!a.has(p)) out.push(`import only:   ${p} = ${v}`);
  for (const [p, v] of a) if (b.has(p) && b.get(p) !== v) out.push(`differs:       ${p}: template ${v}, import ${b.get(p)}`);
  return out;
}

const engines = (s: Doc, section: string) =>
  Object.values((s[section] ?? {}) as Doc)
    .map((d) => d.engine)
    .sort();

for (const [seed, file, template] of [
  ['seed-002', 'docker-compose.yml', 'api'],
  ['seed-003', 'compose.yaml', 'haproxy-mysql'],
  ['seed-000', 'compose.yaml', 'lab'],
] as const) {
  test(`${seed}'s Compose file imports into a spec equivalent to the ${template} template (differences printed)`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wharf-seed-'));
    try {
      cpSync(join(repoRoot, 'test/fixtures/import', seed), dir, { recursive: true });
      await importJson(['--dir', dir, join(dir, file)]);
      const imported = parse(readFileSync(join(dir, 'wharf.yaml'), 'utf8')) as Doc;
      const tpl = parse(readFileSync(join(repoRoot, 'templates', `${template}.yaml`), 'utf8')) as Doc;
      assert.equal(imported.proxy?.kind, tpl.proxy?.kind, 'the same edge');
      assert.deepEqual(engines(imported, 'databases'), engines(tpl, 'databases'), 'the same database engines');
      assert.deepEqual(engines(imported, 'caches'), engines(tpl, 'caches'), 'the same cache engines');
      const routed = (s: Doc) => Object.values((s.services ?? {}) as Doc).filter((x) => x.routes?.length);
      assert.ok(routed(imported).length >= 1, 'a routed service');
      for (const svc of routed(tpl))
        if (svc.uses?.length)
          assert.ok(
            routed(imported).some((x) => (x.uses ?? []).length === svc.uses.length),
            'a routed service uses as many datastores as the template',
          );
      console.log(`${seed} -> templates/${template}.yaml:\n  ${differences(tpl, imported).join('\n  ')}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
