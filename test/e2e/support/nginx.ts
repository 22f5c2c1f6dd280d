// Debian's nginx on the shared substitute base (test/e2e/apps/nginx), tagged by the content of
// its build context: a third-party web server for e2e stacks.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { repoRoot } from './images.js';

export async function nginxImage(): Promise<string> {
  const base = (await execa('docker', ['image', 'ls', 'wharf-test/base', '--format', '{{.Repository}}:{{.Tag}}'])).stdout.split('\n')[0]!;
  const ctx = join(repoRoot, 'test', 'e2e', 'apps', 'nginx');
  const h = createHash('sha256').update(base);
  for (const f of readdirSync(ctx).sort()) h.update(f).update(readFileSync(join(ctx, f)));
  const ref = `wharf-test/app-nginx:${h.digest('hex').slice(0, 12)}`;
  if ((await execa('docker', ['image', 'inspect', ref], { reject: false })).exitCode !== 0) {
    const network = process.env.WHARF_BUILD_NETWORK ? ['--network', process.env.WHARF_BUILD_NETWORK] : []; // as build-test-images.sh
    await execa(
      'docker',
      ['build', '-q', ...network, '--build-arg', `BASE=${base}`, '--label', 'org.wharf.test.image=app-nginx', '-t', ref, ctx],
      { env: { DOCKER_BUILDKIT: '0' } },
    );
    // one tag kept, like build-test-images.sh does for its own
    const old = (await execa('docker', ['image', 'ls', 'wharf-test/app-nginx', '--format', '{{.Repository}}:{{.Tag}}'])).stdout
      .split('\n')
      .filter((r) => r && r !== ref);
    if (old.length) await execa('docker', ['image', 'rm', ...old], { reject: false });
  }
  return ref;
}
