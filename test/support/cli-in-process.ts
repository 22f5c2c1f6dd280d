// The CLI run in-process through main's one boundary, with a recording runner that answers only
// `docker compose version`: what a command prints, its exit code, and every command it would run.
import { recordingRunner } from '../../src/engine/run.js';
import { main } from '../../src/cli/main.js';

export async function wharfInProcess(spec: string, ...args: string[]) {
  const lines: string[] = [];
  const rec = recordingRunner((c) =>
    c.argv.join(' ') === 'docker compose version' ? { stdout: 'Docker Compose version v2.26.1' } : undefined,
  );
  const out = { log: (l = '') => void lines.push(l), error: (l: string) => void lines.push(l) };
  const code = await main(['node', 'wharf', ...args, '--file', spec], out, { runner: rec.runner, interactive: false });
  return { code, text: lines.join('\n'), calls: rec.calls };
}
