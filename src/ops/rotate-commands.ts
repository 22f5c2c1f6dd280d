// What each data store is told during a password rotation, as data: the admin client's argv
// (run inside the store's own container, statements on stdin, so no value is in any argv that
// `ps` or `docker inspect` shows) and the statements of each step.
//
// Two ways to accept the old and the new credential while the services roll:
// - 'twin' (PostgreSQL, MySQL, MariaDB: one password per role): a transient login `<user>_rotating`
//   with the new password acts as the user; services roll to it, the user gets the new password,
//   services roll back to the user, the twin is dropped. Open pools never see a refused login:
//   each replica keeps the credential it started with until it is replaced.
// - 'dual' (Redis ACL: a user may hold several passwords): add the new one, roll, remove the old.
import { mysqlIdent, mysqlLiteral, pgIdent, pgLiteral } from '../escape/sql.js';

export type StoreEngine = 'postgres' | 'mysql' | 'mariadb' | 'redis';

export interface StoreScript {
  /** argv of the admin client inside the store's container; statements on stdin */
  argv: string[];
  input: string;
  /** the client exits 0 even on an error (redis-cli): judge its output */
  ok?: (stdout: string) => boolean;
}

export interface StoreRotation {
  mode: 'twin' | 'dual';
  /** twin: the transient login */
  twin?: string;
  /** before the first roll: the store accepts the new credential too */
  open: StoreScript;
  /** twin only, after the first roll: the user itself takes the new password */
  settle?: StoreScript;
  /** after the last roll: the old credential is refused */
  close: StoreScript;
}

export interface StoreFacts {
  engine: StoreEngine;
  user: string;
  database: string;
  /** mysql/mariadb: the root password file inside the container */
  rootPasswordFile?: string;
}

export const twinOf = (user: string) => `${user}_rotating`;

/** The statements of one rotation of `user`'s password from `old` to `next`. */
export function storeRotation(f: StoreFacts, old: string, next: string): StoreRotation {
  if (f.engine === 'redis') {
    const cli = {
      argv: ['redis-cli', '--no-auth-warning'],
      ok: (out: string) =>
        out
          .trim()
          .split('\n')
          .every((l) => l.trim() === 'OK'),
    };
    return {
      mode: 'dual',
      open: { ...cli, input: `AUTH ${f.user} ${old}\nACL SETUSER ${f.user} >${next}\n` },
      close: { ...cli, input: `AUTH ${f.user} ${next}\nACL SETUSER ${f.user} <${old}\n` },
    };
  }
  const twin = twinOf(f.user);
  if (f.engine === 'postgres') {
    // local socket: the image's initdb trusts it; the owner is the image's superuser (psql runs in the container)
    const inContainer = ['psql', '-v', 'ON_ERROR_STOP=1', '-qAt', '-U', f.user, '-d', f.database];
    const sql = (lines: string[]) => ({ argv: inContainer, input: `${lines.join('\n')}\n` });
    return {
      mode: 'twin',
      twin,
      open: sql([
        `SELECT format('CREATE ROLE %I', ${pgLiteral(twin)}) WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = ${pgLiteral(twin)})\\gexec`,
        `ALTER ROLE ${pgIdent(twin)} WITH LOGIN PASSWORD ${pgLiteral(next)};`,
        `GRANT ${pgIdent(f.user)} TO ${pgIdent(twin)};`,
        // every session of the twin acts as the user: what it creates belongs to the user
        `ALTER ROLE ${pgIdent(twin)} SET role = ${pgLiteral(f.user)};`,
      ]),
      settle: sql([`ALTER ROLE ${pgIdent(f.user)} WITH PASSWORD ${pgLiteral(next)};`]),
      close: sql([
        `ALTER ROLE ${pgIdent(twin)} WITH NOLOGIN PASSWORD NULL;`,
        `REASSIGN OWNED BY ${pgIdent(twin)} TO ${pgIdent(f.user)};`,
        `DROP OWNED BY ${pgIdent(twin)};`,
        `DROP ROLE ${pgIdent(twin)};`,
      ]),
    };
  }
  const client = f.engine === 'mariadb' ? 'mariadb' : 'mysql';
  // root's password is read inside the container from its secret file, never passed in
  const argv = ['sh', '-c', `MYSQL_PWD="$(cat "$1")" exec ${client} -uroot --batch`, 'wharf-rotate', f.rootPasswordFile ?? ''];
  const sql = (lines: string[]) => ({ argv, input: `${lines.join('\n')}\n` });
  const who = (u: string) => `${mysqlLiteral(u)}@'%'`;
  return {
    mode: 'twin',
    twin,
    open: sql([
      `CREATE USER IF NOT EXISTS ${who(twin)} IDENTIFIED BY ${mysqlLiteral(next)};`,
      `ALTER USER ${who(twin)} IDENTIFIED BY ${mysqlLiteral(next)};`,
      `GRANT ALL PRIVILEGES ON ${mysqlIdent(f.database)}.* TO ${who(twin)};`,
    ]),
    settle: sql([`ALTER USER ${who(f.user)} IDENTIFIED BY ${mysqlLiteral(next)};`]),
    close: sql([`DROP USER IF EXISTS ${who(twin)};`]),
  };
}

// restic opens /dev/stdin by name, which fails on a socket (what a runner may hand it): a pipe from cat.
const piped = (argv: string[]) => ['sh', '-c', 'cat | "$@"', 'wharf-rotate', ...argv];

/** restic's steps on one repository: the old key's ID, a key with the new password, checked, the old removed. */
export const resticSteps = {
  /** the keys, as the password on stdin sees them (its own is marked current) */
  list: (repo: string) => piped(['restic', '-r', repo, '--password-file', '/dev/stdin', 'key', 'list', '--json']),
  /** logged in with the password file given, the new password on stdin */
  add: (repo: string, passwordFile: string) =>
    piped(['restic', '-r', repo, '--password-file', passwordFile, 'key', 'add', '--new-password-file', '/dev/stdin']),
  /** opens the repository with the password on stdin */
  open: (repo: string) => piped(['restic', '-r', repo, '--password-file', '/dev/stdin', 'key', 'list', '--json']),
  /** removes a key, logged in with the password on stdin */
  remove: (repo: string, id: string) => piped(['restic', '-r', repo, '--password-file', '/dev/stdin', 'key', 'remove', id]),
};

/** restic's word for a repository that was never initialised (no backup has run yet). */
export const noRepository = (stderr: string) =>
  /Is there a repository at the following location|repository does not exist|config: no such file/i.test(stderr);

/** The key the password opened the repository with (restic marks it `current`). */
export function currentKey(json: string): string | undefined {
  const keys = JSON.parse(json) as Array<{ current?: boolean; id?: string }>;
  return keys.find((k) => k.current)?.id;
}
