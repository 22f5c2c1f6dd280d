// Day-two helpers for the e2e stacks: `wharf logs --follow` run in the background until stopped,
// SQL in the stack's PostgreSQL, the CLI, and the secret a test must never see in output.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import type { OpsContext } from '../../../src/engine/context.js';
import type { LogLine } from '../../../src/ops/log-merge.js';
import { readLogs, type LogsResult } from '../../../src/ops/logs.js';
import { repoRoot } from './images.js';

/** Follows every replica of `services` (what `wharf logs --follow` does) until `stop()`. */
export function followLogs(ctx: OpsContext, services: string[]): { stop(): Promise<{ lines: LogLine[]; result: LogsResult }> } {
  const lines: LogLine[] = [];
  const abort = new AbortController();
  const done = readLogs(ctx, { services, tail: 'all', follow: true, signal: abort.signal }, (l) => void lines.push(l));
  return {
    async stop() {
      abort.abort();
      return { lines, result: await done };
    },
  };
}

/** One statement through psql in the db service, as the service's own user; the rows as psql -At prints them. */
export async function sql(ctx: OpsContext, service: string, q: string): Promise<string> {
  const env = ctx.plan.components.find((c) => c.name === service)!.env;
  const psql = ['psql', '-X', '-At', '-v', 'ON_ERROR_STOP=1', '-U', env.DB_USER!, '-d', env.DB_NAME!, '-c', q];
  const r = await execa('docker', ['compose', '-p', ctx.plan.name, '-f', 'compose.yaml', 'exec', '-T', 'db', ...psql], { cwd: ctx.outDir });
  return r.stdout.trim();
}

/** The generated value of a secret and the forms an application may print it in. */
export function secretForms(ctx: OpsContext, name: string): string[] {
  const v = readFileSync(join(ctx.secretsDir!, name), 'utf8').trim();
  return [v, encodeURIComponent(v)];
}

/** The API logs its database URL (LOG_DATABASE_URL=1): the generated password must show as *** only. */
export const MASKED_URL = /"url":"postgres:\/\/app:\*\*\*@db:5432\//;

/** The lines holding the service's generated database password in any form an application prints it. */
export const leaks = (ctx: OpsContext, lines: LogLine[]): LogLine[] =>
  lines.filter((l) => secretForms(ctx, 'db-password').some((v) => l.line.includes(v)));

/** A node one-liner printing the database password (as careless code does), then exiting with its first argument. */
export const PRINT_PASSWORD_EXIT =
  "console.log(require('fs').readFileSync(process.env.DB_PASSWORD_FILE, 'utf8').trim()); process.exit(+process.argv[1])";

/** The CLI as a user runs it: `wharf <command> -f <spec> <args...>` (the spec before any `--`). */
export const wharf = (specPath: string, command: string, ...args: string[]) =>
  execa(process.execPath, [join(repoRoot, 'bin', 'wharf.js'), command, '-f', specPath, ...args], { reject: false, env: { NO_COLOR: '1' } });

/** The one-off containers (`wharf run`, hooks) left in the project. */
export async function oneOffs(ctx: OpsContext): Promise<string[]> {
  const filters = ['--filter', `label=com.docker.compose.project=${ctx.plan.name}`, '--filter', 'label=com.docker.compose.oneoff=True'];
  return (await execa('docker', ['ps', '-aq', ...filters])).stdout.split('\n').filter(Boolean);
}
