// wharf init: a starter spec from a template.
import { Option } from 'commander';
import { init, templateNames } from '../init.js';
import { action, type Register } from '../command.js';

export const registerInit: Register = (program, cli) => {
  program
    .command('init')
    .description(
      'write a starter wharf.yaml (or wharf.config.ts) from a template; adds wharf:up and wharf:check to an existing package.json',
    )
    .addOption(new Option('-t, --template <name>', 'template').default('api'))
    .option('--dir <dir>', 'project directory', '.')
    .option('--ts', 'write wharf.config.ts (export default defineStack({...})) instead of wharf.yaml', false)
    .option('--force', 'overwrite an existing spec file', false)
    .action(
      action(cli, (o: { template: string; dir: string; force: boolean; ts: boolean }) => {
        const r = init(o.dir, o.template, o.force, { ts: o.ts });
        const out = cli.io.out;
        out.log(`created ${r.created.join(', ')} from template "${o.template}" (templates: ${templateNames().join(', ')})`);
        if (r.kept.length) out.log(`kept your own ${r.kept.join(', ')}`);
        out.log('next: `wharf check`, then `wharf up`');
      }),
    );
};
