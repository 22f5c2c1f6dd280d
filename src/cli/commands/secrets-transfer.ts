// wharf secrets export / import: the stack's secrets as one age-encrypted file (issue 27).
import { constants, openSync, readFileSync, writeSync, closeSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { Writable } from 'node:stream';
import type { Command } from 'commander';
import { InputError } from '../../errors.js';
import { load, resolveSpecPath } from '../../ops/prepare.js';
import type { Key } from '../../ops/secrets-export.js';
import { action, fileOption, type Cli } from '../command.js';

export const PASSPHRASE_ENV = 'WHARF_EXPORT_PASSPHRASE';

async function askHidden(question: string): Promise<string> {
  process.stderr.write(question);
  const silent = new Writable({ write: (_c, _e, done) => done() });
  const rl = createInterface({ input: process.stdin, output: silent, terminal: true });
  try {
    return await rl.question('');
  } finally {
    rl.close();
    process.stderr.write('\n');
  }
}

async function passphrase(cli: Cli, twice: boolean): Promise<Key> {
  const env = process.env[PASSPHRASE_ENV];
  if (env) return { passphrase: env };
  if (!cli.io.interactive || !process.stdin.isTTY)
    throw new InputError(`no passphrase: set ${PASSPHRASE_ENV}, run on a terminal, or use an age key`, {
      hint: 'export --recipient age1... / import --identity FILE',
    });
  const p = await askHidden('passphrase: ');
  if (p.length < 12) throw new InputError('the passphrase is shorter than 12 characters');
  if (twice && (await askHidden('again: ')) !== p) throw new InputError('the passphrases differ');
  return { passphrase: p };
}

export function addSecretsTransfer(secrets: Command, cli: Cli): void {
  secrets
    .command('export')
    .description('write every secret of the stack (restic password included) and the spec hash as one age-encrypted file')
    .addOption(fileOption())
    .option('--out <file>', 'the encrypted file to create (never overwritten); stdout without it')
    .option('--recipient <age1...>', 'encrypt to an age public key instead of a passphrase (repeatable)', (v, a: string[]) => [...a, v], [])
    .action(
      action(cli, async (o: { file?: string; out?: string; recipient: string[] }) => {
        const { collectSecrets, sealBundle } = await import('../../ops/secrets-export.js');
        const l = await load(resolveSpecPath(o.file));
        const bundle = collectSecrets(l.layout.projectDir, l.layout.specPath, l.layout.secretsDir);
        const key: Key = o.recipient.length ? { recipients: o.recipient } : await passphrase(cli, true);
        const text = await sealBundle(bundle, key);
        const n = Object.keys(bundle.files).length;
        if (!o.out) {
          cli.io.out.log(text.trimEnd());
          return;
        }
        const out = resolve(o.out);
        let fd: number;
        try {
          fd = openSync(out, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
        } catch (e) {
          throw new InputError(`${o.out}: cannot create it (${(e as NodeJS.ErrnoException).code})`, {
            hint: 'name a file that does not exist',
          });
        }
        writeSync(fd, text);
        closeSync(fd);
        cli.io.out.log(
          `${n} secret files exported to ${o.out} (age, ${o.recipient.length ? 'recipients' : 'passphrase'}); keep it off this host`,
        );
        return;
      }),
    );
  secrets
    .command('import')
    .description('write the secrets of an exported file into .wharf/secrets (refuses to replace different ones without --force)')
    .argument('<file>', 'a file made by `wharf secrets export`')
    .addOption(fileOption())
    .option('--identity <file>', 'an age identity file (AGE-SECRET-KEY-...) instead of a passphrase')
    .option('--force', 'replace secrets on disk that differ from the export', false)
    .action(
      action(cli, async (file: string, o: { file?: string; identity?: string; force: boolean }) => {
        const { openBundle, restoreSecrets } = await import('../../ops/secrets-export.js');
        const l = await load(resolveSpecPath(o.file));
        const read = (p: string, what: string) => {
          try {
            return readFileSync(p, 'utf8');
          } catch (e) {
            throw new InputError(`${what} ${p}: ${(e as NodeJS.ErrnoException).code}`);
          }
        };
        const text = read(file, 'cannot read');
        const key: Key = o.identity
          ? {
              identities: read(o.identity, 'cannot read identity')
                .split('\n')
                .filter((x) => x.startsWith('AGE-SECRET-KEY-')),
            }
          : await passphrase(cli, false);
        const bundle = await openBundle(text, key, file);
        const r = restoreSecrets(bundle, l.layout.projectDir, l.layout.specPath, l.layout.secretsDir, o.force);
        if (r.specDiffers) cli.io.out.error(`warning: ${file} was exported for another version of ${l.layout.specPath}`);
        cli.io.out.log(`${r.written.length} secret files written, ${r.unchanged.length} already identical, in ${l.layout.secretsDir}`);
        return;
      }),
    );
}
