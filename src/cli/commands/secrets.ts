// wharf secrets: names, purposes and files of the stack's secrets (never values).
import { load, resolveSpecPath } from '../../ops/prepare.js';
import { action, fileOption, type Register } from '../command.js';
import { table } from '../format/table.js';
import { addSecretsTransfer } from './secrets-transfer.js';

export const registerSecrets: Register = (program, cli) => {
  const secrets = program
    .command('secrets')
    .description("list the stack's secrets: names, purpose and file paths (never values)")
    .addOption(fileOption())
    .action(
      action(cli, async (o: { file?: string }) => {
        const l = await load(resolveSpecPath(o.file));
        const rows = l.plan.secrets.map((s) => [s.name, s.purpose, `${l.layout.secretsDir}/${s.name}`]);
        cli.io.out.log(table(['secret', 'purpose', 'file'], rows));
      }),
    );
  addSecretsTransfer(secrets, cli);
};
