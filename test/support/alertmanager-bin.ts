// The Alertmanager wharf pins (0.28), as host programs: the alertmanager substitute image
// (test/e2e/images/alertmanager, Debian trixie's build) carries it; its two static binaries are
// copied out once per process, so a test runs the real server on loopback and the matching amtool.
// The host's Debian bookworm package is 0.25: no Teams receiver and none of the *_file fields.
// Debian's build reads its default templates from /usr/share/prometheus/alertmanager: on the host
// those are bookworm's (0.25), which is why the renderer gives Teams its title and text itself.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTestImages } from '../e2e/support/images.js';

let copied: Promise<{ alertmanager: string; amtool: string }> | undefined;

export function alertmanagerBinaries(): Promise<{ alertmanager: string; amtool: string }> {
  copied ??= (async () => {
    const ref = (await ensureTestImages({ only: ['alertmanager'], progress: null })).alertmanager!;
    const dir = mkdtempSync(join(tmpdir(), 'wharf-am-bin-'));
    const id = execFileSync('docker', ['create', ref], { encoding: 'utf8' }).trim();
    try {
      for (const b of ['alertmanager', 'amtool']) execFileSync('docker', ['cp', `${id}:/usr/bin/${b}`, join(dir, b)]);
    } finally {
      execFileSync('docker', ['rm', id], { stdio: 'ignore' });
    }
    return { alertmanager: join(dir, 'alertmanager'), amtool: join(dir, 'amtool') };
  })();
  return copied;
}
