// wharf import compose: an existing Compose project as wharf.yaml, with the account of every key.
import { resolve } from 'node:path';
import { Option } from 'commander';
import { stringify } from 'yaml';
import { countOutcomes, type Field } from '../../import/account.js';
import { importCompose } from '../../import/compose.js';
import { readComposeProject, refuseProjectName, runningProject } from '../../import/project.js';
import { adoptPlan } from '../../import/adopt.js';
import { writeInside } from '../../fs/confined.js';
import { InputError } from '../../errors.js';
import { checkImported } from '../../import/validate.js';
import { refuseExistingSpec, writeImport } from '../../import/write.js';
import type { ComposeProject } from '../../import/compose-schema.js';
import { UserInputError } from '../../spec/issues.js';
import { compareImport, type Difference } from '../../import/faithful.js';
import { load, writeSchemaFile } from '../../ops/prepare.js';
import { renderInMemory } from '../../ops/plan.js';
import { action, jsonOption, type Register } from '../command.js';
import { table } from '../format/table.js';
import { OperationError } from '../../errors.js';

interface Flags {
  dir: string;
  envFile: string[];
  profile: string[];
  domain?: string;
  json: boolean;
  force: boolean;
  strict: boolean;
  adopt: boolean;
  projectName?: string;
}

const collect = (v: string, all: string[] = []) => [...all, v];

export const registerImport: Register = (program, cli) => {
  const imp = program.command('import').description('bring an existing project in as wharf.yaml');
  imp
    .command('compose')
    .description(
      'read Compose files as `docker compose config` resolves them (overrides in order, include, extends, profiles, .env) ' +
        'and write wharf.yaml, printing what was kept, changed and dropped',
    )
    .argument('[files...]', 'compose files in override order (default: compose.yaml and its override, as Compose finds them)')
    .option('--dir <dir>', 'where wharf.yaml is written (and, without FILE, where Compose looks for its files and .env)', '.')
    .addOption(new Option('--env-file <file>', 'an env file for interpolation (repeatable)').argParser(collect).default([]))
    .addOption(
      new Option('--profile <name>', 'import only these profiles (repeatable; default every profile)').argParser(collect).default([]),
    )
    .option('--domain <domain>', 'base domain of the routes (default NAME.localhost)')
    .addOption(jsonOption())
    .option('--force', 'replace an existing wharf.yaml', false)
    .option('--strict', 'write nothing and exit 2 when any key would be dropped', false)
    .option('-p, --project-name <name>', 'the project name, as `docker compose -p` (default: its name: key, else the directory)')
    .option('--adopt', 'the project runs now: the next `wharf up` takes it over (same volumes, each port handed over)', false)
    .action(action(cli, (files: string[], o: Flags) => importProject(cli, files, o)));
  imp
    .command('running')
    .description('import the Compose project that runs under this name (its files, from its containers) and adopt it')
    .argument('<project>', 'the Compose project name (`docker compose ls`)')
    .option('--dir <dir>', 'where wharf.yaml is written', '.')
    .option('--domain <domain>', 'base domain of the routes (default NAME.localhost)')
    .addOption(jsonOption())
    .option('--force', 'replace an existing wharf.yaml', false)
    .action(
      action(cli, async (name: string, o: Flags) => {
        refuseProjectName(name);
        const running = await runningProject(name, cli.io.runner);
        if (!running?.configFiles.length)
          throw new InputError(`${name}: no running container of a Compose project of that name`, { hint: 'see `docker compose ls`' });
        // the name it runs under, which `-p` may have given: not the one its files or directory would give
        return importProject(cli, running.configFiles, { ...o, envFile: [], profile: [], strict: false, adopt: true, projectName: name });
      }),
    );
};

async function importProject(cli: Parameters<Register>[1], files: string[], o: Flags): Promise<'ok' | 'invalid'> {
  const dir = resolve(o.dir);
  refuseExistingSpec(dir, o.force);
  const { project } = await readComposeProject({
    dir,
    files,
    envFiles: o.envFile,
    profiles: o.profile.length ? o.profile : ['*'],
    projectName: o.projectName,
    runner: cli.io.runner,
  });
  const r = importCompose(project, { projectDir: dir, domain: o.domain, environment: process.env });
  const adopting = o.adopt ? await planAdoption(cli, project, r) : undefined;
  const text = `# imported by \`wharf import compose\` from the Compose project "${project.name}"\n${stringify(r.spec, { lineWidth: 0 })}`;
  const check = await checkImported(text);
  if (check.errors.length)
    throw new OperationError(
      `the imported spec does not pass wharf check (a bug in wharf import): ${check.errors.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
    );
  const counts = countOutcomes(r.fields);
  const refused = o.strict && counts.dropped > 0;
  const written = refused ? [] : writeImport(dir, text, r.secretFiles);
  if (adopting && !refused) {
    writeInside(dir, resolve(dir, '.wharf', 'adopt.json'), `${JSON.stringify(adopting.record, null, 2)}\n`);
    written.push('.wharf/adopt.json');
  }
  if (!refused) writeSchemaFile(dir);
  // proof of faithfulness: the spec as written, rendered for Compose, against Compose's own reading
  let differences: Difference[] = [];
  if (!refused) {
    const loaded = await load(resolve(dir, 'wharf.yaml'));
    const files = await renderInMemory(loaded.plan, 'compose', resolve(dir, '.wharf', 'secrets'), { composeKind: 'v2' });
    differences = compareImport(project, r.components, r.fields, files.find((f) => f.path === 'compose.yaml')!.contents);
  }
  const out = cli.io.out;
  if (o.json) {
    const warnings = check.warnings.map((w) => ({ path: w.path, message: w.message }));
    out.log(
      JSON.stringify(
        { spec: refused ? null : 'wharf.yaml', written, counts, fields: r.fields, components: r.components, differences, warnings },
        null,
        2,
      ),
    );
  } else {
    printAccount(out, r.fields, counts, written, refused);
    if (differences.length) {
      out.log(`differences the account does not explain (${differences.length}): check them before \`wharf up\``);
      out.log(
        table(
          ['service', 'what', 'compose', 'wharf'],
          differences.map((d) => [d.service, d.aspect, d.compose, d.wharf]),
        ),
      );
    } else if (!refused) out.log('rendered again and compared with Compose: no difference beyond the account');
  }
  if (adopting && !refused && !o.json)
    out.log(
      `adopt: the next \`wharf up\` takes over the running project "${project.name}" (same volumes); ports handed to the edge: ` +
        (adopting.record.ports.map((p) => `${p.hostIp}:${p.port} (${p.service} -> ${p.to})`).join(', ') || 'none'),
    );
  return refused ? 'invalid' : 'ok';
}

/** Refuses (exit 2, nothing written) what cannot be taken over safely; sets the edge on the old ports. */
async function planAdoption(cli: Parameters<Register>[1], project: ComposeProject, r: ReturnType<typeof importCompose>) {
  const running = await runningProject(project.name, cli.io.runner);
  if (!running)
    throw new InputError(`${project.name}: no container of this Compose project runs, so there is nothing to adopt`, {
      hint: 'start it with `docker compose up -d`, or import without --adopt',
    });
  const a = adoptPlan(project, r, running.workingDir);
  if (a.refusals.length)
    throw new UserInputError(a.refusals.map((x) => ({ path: x.path, severity: 'error' as const, message: x.message })));
  if (Object.keys(a.proxy).length) r.spec.proxy = { kind: 'traefik', ...(r.spec.proxy as object), ...a.proxy };
  return a;
}

function printAccount(
  out: { log(s?: string): void },
  fields: Field[],
  counts: ReturnType<typeof countOutcomes>,
  written: string[],
  refused: boolean,
) {
  const rows = (f: Field[]) => f.map((x) => [x.path, x.to ?? '-', x.why]);
  for (const outcome of ['kept', 'changed', 'dropped'] as const) {
    const group = fields.filter((f) => f.outcome === outcome);
    if (!group.length) continue;
    out.log(`${outcome} (${group.length}):`);
    out.log(table(['compose', 'wharf', outcome === 'dropped' ? 'why, and what to do instead' : 'note'], rows(group)));
  }
  out.log(`${counts.kept} kept, ${counts.changed} changed, ${counts.dropped} dropped`);
  if (refused) out.log('--strict: nothing written, because keys were dropped');
  else out.log(`wrote ${written.join(', ')}; next: \`wharf check\`, then \`wharf up\``);
}
