// The import corpus: real Compose files of public projects (test/fixtures/import-corpus/*/SOURCE
// names each one's repository, commit and licence). Each imports; the account covers every key;
// the spec passes `wharf check` and its render passes `docker compose config`; every service
// survives (as a service, a database or cache, or the edge); each image is kept or its change is
// explained; no secret-looking value of the input is left in wharf.yaml.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { assertChecksAndRenders, assertCoversEveryKey, composeConfig, wharf, type Account } from '../support/import-cli.js';
import { repoRoot } from '../support/templates.js';
import { floatingImage } from '../../src/import/values.js';

const corpus = join(repoRoot, 'test/fixtures/import-corpus');
const projects = readdirSync(corpus).filter((n) => statSync(join(corpus, n)).isDirectory());

/** Values a reader would call secret: by key name, a password in a URL, or a secret file's content. */
function secretLooking(config: Record<string, any>, dir: string): string[] {
  const out: string[] = [];
  const plain = new Set<string>();
  const secretKey = (k: string) => /pass|secret|token|_key$|apikey/i.test(k) && !/_FILE$/.test(k);
  for (const svc of Object.values(config.services as Record<string, any>))
    for (const [k, v] of Object.entries((svc.environment ?? {}) as Record<string, string | null>)) {
      if (!v || v.length < 4) continue;
      if (secretKey(k)) out.push(v);
      else plain.add(v);
      const url = /:\/\/[^:/@\s]+:([^@\s]{4,})@/.exec(v);
      if (url) out.push(url[1]!);
    }
  for (const s of Object.values((config.secrets ?? {}) as Record<string, { file?: string }>))
    if (s.file && s.file.startsWith(dir)) {
      const text = readFileSync(s.file, 'utf8').trim();
      if (text.length >= 4) out.push(text);
    }
  // a password that is also the user or database name ("gitea") stays as that name: it cannot be told apart
  return out.filter((v) => !plain.has(v));
}

/** Every string in the spec (keys excluded: they are names, not values). */
const strings = (v: unknown): string[] =>
  typeof v === 'string' ? [v] : v && typeof v === 'object' ? Object.values(v).flatMap(strings) : [];

/** A plain lowercase word ("gitea", "wordpress") is also an image or a service name: only its exact use as a value counts. */
const leaks = (s: string, secret: string) => s === secret || (!/^[a-z]+$/.test(secret) && s.includes(secret));

const table: string[][] = [];

// Each project waits mostly on `docker compose` processes: four at a time keep the file inside its test:fast budget.
describe('corpus', { concurrency: 4 }, () => {
  for (const name of projects) {
    test(`corpus ${name}: imports, every key accounted for, checks, renders, every service kept, no secret in wharf.yaml`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'wharf-corpus-'));
      try {
        cpSync(join(corpus, name), dir, { recursive: true });
        const config = await composeConfig(dir);
        const r = await wharf(['import', 'compose', '--json', '--dir', dir]);
        if (r.code !== 0) {
          table.push([name, 'refused', r.text.split('\n')[0]!]);
          assert.equal(r.code, 2, `not a clean refusal: ${r.text}`);
          return;
        }
        const account = JSON.parse(r.text) as Account;
        assertCoversEveryKey(config, account);
        const spec = parse(readFileSync(join(dir, 'wharf.yaml'), 'utf8')) as Record<string, any>;
        for (const [src, svc] of Object.entries(config.services as Record<string, any>)) {
          const n = account.components[src];
          assert.ok(n !== undefined, `${src}: not in the import's service map`);
          if (n === null) {
            assert.ok(spec.proxy, `${src} replaced by the edge, but the spec has no proxy`);
            continue;
          }
          const runs = spec.services?.[n] ?? spec.databases?.[n] ?? spec.caches?.[n];
          assert.ok(runs, `${src} did not survive (no ${n} in the spec)`);
          const image = account.fields.find((f) => f.path === `services.${src}.image`);
          if (svc.image && !svc.build) {
            assert.ok(image, `${src}: its image is not in the account`);
            if (image.outcome === 'kept' && spec.services?.[n]) assert.equal(spec.services[n].image, svc.image, `${src}: image kept`);
            else if (image.outcome !== 'kept') assert.ok(image.why.length > 10, `${src}: image change not explained`);
            // one rule for an image with no version: written untagged, whether the source said :latest or nothing
            if (spec.services?.[n] && floatingImage(svc.image).floating) {
              assert.equal(spec.services[n].image, floatingImage(svc.image).ref, `${src}: ${svc.image} not written untagged`);
              assert.match(image.why, /no version tag, written untagged/, `${src}: the account does not say the image floats`);
            }
          }
        }
        assert.deepEqual(
          account.differences.filter((d) => d.aspect === 'missing' || d.aspect === 'image'),
          [],
          'no service lost, no image changed without a word in the account',
        );
        const scalars = strings(spec);
        for (const v of secretLooking(config, dir))
          assert.ok(!scalars.some((s) => leaks(s, v)), `${name}: a secret-looking value is left in wharf.yaml`);
        await assertChecksAndRenders(dir);
        table.push([
          name,
          account.counts.dropped ? 'with drops' : 'imported',
          `${account.counts.kept}/${account.counts.changed}/${account.counts.dropped}`,
        ]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

test('the corpus holds projects of at least 30 different repositories, each with its source and licence', () => {
  assert.ok(projects.length >= 30, `${projects.length} projects`);
  for (const n of projects) {
    const source = readFileSync(join(corpus, n, 'SOURCE'), 'utf8');
    for (const key of ['repository:', 'path:', 'commit:', 'licence:']) assert.ok(source.includes(key), `${n}/SOURCE has no ${key}`);
  }
  const repo = (n: string) => /github\.com\/(\S+)/.exec(readFileSync(join(corpus, n, 'SOURCE'), 'utf8'))?.[1] ?? '?';
  const repos = new Set(projects.map(repo));
  assert.ok(repos.size >= 30, `only ${repos.size} different repositories`);
  // the README's corpus table, from this run (project, its repository, outcome, kept/changed/dropped)
  const rows = table.sort((a, b) => a[0]!.localeCompare(b[0]!)).map(([n, ...rest]) => `| ${[n, repo(n!), ...rest].join(' | ')} |`);
  console.log(['| project | source | outcome | kept/changed/dropped |', '|---|---|---|---|', ...rows].join('\n'));
});
