// wharf schema: the JSON Schema of wharf.yaml.
import { jsonSchema } from '../../spec/schema.js';
import { action, type Register } from '../command.js';

export const registerSchema: Register = (program, cli) => {
  program
    .command('schema')
    .description('print the JSON Schema of wharf.yaml (for editor completion and validation)')
    .action(action(cli, () => cli.io.out.log(JSON.stringify(jsonSchema(), null, 2))));
};
