// Which Compose is installed: v2 (`docker compose`, what users run) first, then v1 (`docker-compose`).
import { cmd } from './command.js';
import { run, type Runner } from './run.js';
import { OperationError } from '../errors.js';

export interface ComposeBinary {
  kind: 'v2' | 'v1';
  /** argv prefix: ['docker', 'compose'] or ['docker-compose'] */
  argv: string[];
  version: string;
}

export class ComposeNotFoundError extends OperationError {
  constructor(readonly tried: string[]) {
    super(`Docker Compose not found (tried ${tried.join(', ')}). Install the compose plugin (docker compose) or docker-compose.`);
    this.name = 'ComposeNotFoundError';
  }
}

export function parseComposeVersion(out: string): string | undefined {
  return /(\d+\.\d+\.\d+[^\s,]*)/.exec(out)?.[1];
}

export async function detectCompose(runner: Runner = run, prefer?: 'v1' | 'v2'): Promise<ComposeBinary> {
  const candidates: Array<Omit<ComposeBinary, 'version'>> = [
    { kind: 'v2', argv: ['docker', 'compose'] },
    { kind: 'v1', argv: ['docker-compose'] },
  ];
  if (prefer === 'v1') candidates.reverse();
  const tried: string[] = [];
  for (const c of candidates) {
    tried.push(c.argv.join(' '));
    const r = await runner(cmd([...c.argv, 'version'], 'detect compose', { timeoutMs: 20_000 }), { reject: false }).catch(() => undefined);
    if (!r || r.exitCode !== 0) continue;
    const version = parseComposeVersion(r.stdout);
    if (version) return { ...c, version };
  }
  throw new ComposeNotFoundError(tried);
}
