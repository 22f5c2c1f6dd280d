// wharf migrate: rewrite an older spec into the current spec version.
import { migrateSpecFile } from '../../ops/migrate.js';
import { resolveSpecPath } from '../../ops/prepare.js';
import { SPEC_VERSION } from '../../spec/migrate.js';
import { action, fileOption, type Register } from '../command.js';

export const registerMigrate: Register = (program, cli) => {
  program
    .command('migrate')
    .description(`rewrite a spec written for an older spec version into version ${SPEC_VERSION}`)
    .addOption(fileOption())
    .option('--dry-run', 'say what would change, write nothing', false)
    .action(
      action(cli, async (o: { file?: string; dryRun: boolean }) => {
        const r = await migrateSpecFile(resolveSpecPath(o.file), { dryRun: o.dryRun });
        const out = cli.io.out;
        if (!r.steps.length) {
          out.log(`${r.file}: already spec version ${r.to}, nothing to do`);
          return;
        }
        out.log(`${r.file}: version ${r.from} -> ${r.to}${r.written ? '' : ' (dry run, not written)'}`);
        for (const s of r.steps) out.log(`  - ${s}`);
      }),
    );
};
