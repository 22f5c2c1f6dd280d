// Reads a Compose project the way Compose does, by asking it (engine/compose-config.ts).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { composeConfig } from '../engine/compose-config.js';
import { detectCompose } from '../engine/detect.js';
import { run, type Runner } from '../engine/run.js';
import { docker } from '../engine/docker.js';
import { InputError } from '../errors.js';
import { composeProjectSchema, type ComposeProject } from './compose-schema.js';

/** Real Compose files are a few kB; a bigger one is generated or hostile (alias bombs grow in Compose's memory). */
export const MAX_COMPOSE_BYTES = 1024 * 1024;

const COMPOSE_NAMES = ['compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml', 'compose.override.yaml', 'compose.override.yml', 'docker-compose.override.yaml', 'docker-compose.override.yml']; // prettier-ignore

/** Compose itself spins on an alias bomb (and ignores SIGTERM): read each file first, with limits. */
function refuseHostileYaml(f: string): void {
  const doc = parseDocument(readFileSync(f, 'utf8'), { uniqueKeys: true });
  const problem =
    doc.errors[0]?.message ??
    (() => {
      try {
        doc.toJS({ maxAliasCount: 100 });
        return undefined;
      } catch (e) {
        return (e as Error).message;
      }
    })();
  if (problem)
    throw new InputError(`${f}: ${problem.split('\n')[0]}`, { hint: 'fix the YAML (duplicate keys and alias expansion are refused)' });
}

export interface ReadOptions {
  /** where Compose looks for its files when none are given */
  dir: string;
  /** compose files; the first one's directory is the project directory, as with `docker compose -f` */
  files: string[];
  envFiles: string[];
  profiles: string[];
  /** as `docker compose -p` */
  projectName?: string;
  runner?: Runner;
}

/** Compose's rule for a project name (`-p`, COMPOSE_PROJECT_NAME, `name:`). */
export function refuseProjectName(name: string): void {
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(name))
    throw new InputError(`-p ${JSON.stringify(name)}: not a Compose project name`, {
      hint: 'lowercase letters, digits, dashes and underscores, starting with a letter or digit (as `docker compose -p` takes)',
    });
}

export async function readComposeProject(o: ReadOptions): Promise<{ project: ComposeProject; projectDir: string }> {
  const runner = o.runner ?? run;
  if (o.projectName !== undefined) refuseProjectName(o.projectName);
  const bin = await detectCompose(runner);
  if (bin.kind === 'v1')
    throw new InputError('wharf import needs Compose v2 (`docker compose config --format json`)', { hint: 'install the compose plugin' });
  const files = o.files.map((f) => resolve(f));
  const defaults = COMPOSE_NAMES.map((n) => join(resolve(o.dir), n)).filter((f) => existsSync(f));
  for (const f of files.length ? files : defaults) {
    const st = statSync(f, { throwIfNoEntry: false });
    if (!st?.isFile()) throw new InputError(`${f}: no such Compose file`);
    if (st.size > MAX_COMPOSE_BYTES)
      throw new InputError(`${f}: ${st.size} bytes, more than a Compose file needs (limit ${MAX_COMPOSE_BYTES})`);
    refuseHostileYaml(f);
  }
  const projectDir = files[0] ? dirname(files[0]) : resolve(o.dir);
  const r = await runner(
    composeConfig(bin, {
      projectDir,
      files,
      envFiles: o.envFiles.map((f) => resolve(f)),
      profiles: o.profiles,
      projectName: o.projectName,
    }),
    {
      reject: false,
    },
  );
  const where = files.length ? files.join(', ') : projectDir;
  if (r.exitCode !== 0)
    throw new InputError(`${where}: Compose refused the project: ${(r.stderr || r.stdout).trim().split('\n').slice(-5).join('\n')}`, {
      hint: 'fix the Compose file (`docker compose config` shows the same error)',
    });
  let json: unknown;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    throw new InputError(`${where}: \`docker compose config --format json\` printed no JSON`);
  }
  const parsed = composeProjectSchema.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new InputError(`${where}: ${first?.path.join('.') ?? ''}: ${first?.message ?? 'unexpected Compose output'}`);
  }
  return { project: parsed.data, projectDir };
}

/** A Compose project running now, as its containers' labels tell (the directory and files it was started from). */
export interface RunningProject {
  name: string;
  workingDir: string;
  configFiles: string[];
  /** running containers, by Compose service */
  services: Record<string, number>;
}

export async function runningProject(name: string, runner: Runner = run): Promise<RunningProject | undefined> {
  const ids = (await runner(docker.psIds([`label=com.docker.compose.project=${name}`], false))).stdout.split('\n').filter(Boolean);
  if (!ids.length) return undefined;
  const raw = JSON.parse((await runner(docker.inspect(ids))).stdout) as Array<{ Config: { Labels?: Record<string, string> } }>;
  const labels = raw.map((c) => c.Config.Labels ?? {}).filter((l) => l['com.docker.compose.oneoff'] !== 'True');
  const first = labels[0];
  if (!first) return undefined;
  const services: Record<string, number> = {};
  for (const l of labels) services[l['com.docker.compose.service'] ?? '?'] = (services[l['com.docker.compose.service'] ?? '?'] ?? 0) + 1;
  return {
    name,
    workingDir: first['com.docker.compose.project.working_dir'] ?? '',
    configFiles: (first['com.docker.compose.project.config_files'] ?? '').split(',').filter(Boolean),
    services,
  };
}
