// A template brought up for real: copied into a temp project, pointed at the locally built
// substitute images, edge published on free loopback ports, then prepared and deployed
// through the same functions the CLI uses.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { parse, parseDocument, stringify } from 'yaml';
import { composeContext, type OpsContext } from '../../../src/engine/context.js';
import { run } from '../../../src/engine/run.js';
import { prepare } from '../../../src/ops/prepare.js';
import { ensureTestImages, repoRoot } from './images.js';
// @ts-expect-error plain ESM script without types, shared with scripts/quickstart.sh
import { localSpec } from '../../../scripts/docker/local-images.mjs';
import { quietBackups } from '../../support/schedule.js';

export interface E2EStack {
  dir: string;
  specPath: string;
  ctx: OpsContext;
  ports: { http: number; https: number };
  images: Record<string, string>;
  /** the compose file as rendered, to restore after breaking it */
  compose: string;
  composePath: string;
  /** remove containers, networks and volumes, then the project directory */
  destroy(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** apps/api's Dockerfile builds offline from a prebuilt bundle: make it when missing or older than the sources. */
export function ensureApiBundle(): void {
  const api = join(repoRoot, 'apps', 'api');
  const bundle = join(api, 'dist', 'server.js');
  const newest = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true }).reduce(
      (m, e) => Math.max(m, e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs),
      0,
    );
  if (existsSync(bundle) && statSync(bundle).mtimeMs >= newest(join(api, 'src'))) return;
  execFileSync(process.execPath, ['build.mjs'], { cwd: api, env: { ...process.env, BUILD_QUIET: '1' }, stdio: 'inherit' });
}

/** template: a shipped template's name, or a spec object of the test's own */
export async function createStack(
  template: 'api' | 'haproxy-mysql' | Record<string, any>,
  name: string,
  edit: (spec: Record<string, any>) => void = () => {},
): Promise<E2EStack> {
  const images = await ensureTestImages({ progress: null });
  ensureApiBundle();
  const dir = mkdtempSync(join(tmpdir(), `wharf-e2e-${typeof template === 'string' ? template : 'spec'}-`));
  const spec =
    typeof template === 'string'
      ? (parse(readFileSync(join(repoRoot, 'templates', `${template}.yaml`), 'utf8')) as Record<string, any>)
      : structuredClone(template);
  const ports = { http: await freePort(), https: await freePort() };
  spec.name = name;
  // What `scripts/quickstart.sh --local-images` does: substitute images, HAProxy edge, no Grafana/cAdvisor.
  localSpec(spec, images);
  quietBackups(spec);
  spec.proxy = { ...spec.proxy, bind: '127.0.0.1', httpPort: ports.http, httpsPort: ports.https };
  // A short scrape interval only so the suite does not wait 15 s per target.
  spec.monitoring = { ...spec.monitoring, scrapeInterval: '5s' };
  for (const s of Object.values<Record<string, any>>(spec.services ?? {})) {
    if (s.build) s.build = { ...s.build, context: join(repoRoot, 'apps', 'api') };
  }
  edit(spec);
  const specPath = join(dir, 'wharf.yaml');
  writeFileSync(specPath, stringify(spec));
  const p = await prepare({ specPath });
  const ctx = await composeContext({ plan: p.plan, outDir: p.outDir, projectDir: dir, secretsDir: p.secretsDir });
  // A run that was killed leaves its volumes: a database volume initialised with another
  // run's generated password would never accept this one's. Start clean.
  await run(ctx.engine.remove({ volumes: true }), { reject: false });
  const composePath = join(p.outDir, 'compose.yaml');
  return {
    dir,
    specPath,
    ctx,
    ports,
    images,
    composePath,
    compose: readFileSync(composePath, 'utf8'),
    async destroy() {
      // loud and once more: a stack left running after a CI run (edge-storm's, once) holds ports
      // and memory for every test after it, and nothing said why
      for (let attempt = 1; attempt <= 2; attempt++) {
        const r = await run(ctx.engine.remove({ volumes: true }), { reject: false });
        if (r.exitCode === 0) break;
        console.error(`# destroy ${p.plan.name} (attempt ${attempt}): exit ${r.exitCode}: ${r.stderr.slice(-800)}`);
      }
      // the images `up` built are named <stack>/<service>:<tag> (plan/build.ts): every run of a
      // suite would otherwise leave ~300 MB of them on the machine
      const built = (await execa('docker', ['image', 'ls', '-q', '--filter', `reference=${p.plan.name}/*`], { reject: false })).stdout
        .split('\n')
        .filter(Boolean);
      if (built.length) await execa('docker', ['image', 'rm', '-f', ...new Set(built)], { reject: false });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Edit the rendered compose.yaml the way a person debugging by hand would. */
export function editCompose(s: E2EStack, change: (doc: ReturnType<typeof parseDocument>) => void): void {
  const doc = parseDocument(s.compose);
  change(doc);
  writeFileSync(s.composePath, doc.toString());
}

export function restoreCompose(s: E2EStack): void {
  writeFileSync(s.composePath, s.compose);
}
