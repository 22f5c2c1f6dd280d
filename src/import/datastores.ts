// PostgreSQL, MySQL, MariaDB and Redis services become wharf databases and caches of the same
// engine and major version: their data volume becomes the wharf one, their backup is scheduled,
// their passwords move to .wharf/secrets/ under the names wharf's own secrets have.
import type { Account } from './account.js';
import type { ComposeService } from './compose-schema.js';
import { unescapeDollars } from './values.js';
import { postgresData } from '../plan/postgres-data.js';

export type DataEngine = 'postgres' | 'mysql' | 'mariadb' | 'redis';

/** A datastore as the rest of the import sees it: its wharf name and the passwords apps may use. */
export interface Datastore {
  name: string;
  engine: DataEngine;
  /** password values other services may hold (by use: `n.password`, or inside a URL: `n.url`) */
  passwords: string[];
}

/** where wharf mounts the data volume of this engine and major version */
const dataDir = (found: { engine: DataEngine; version?: string }): string =>
  found.engine === 'postgres'
    ? postgresData(`postgres:${found.version ?? 'latest'}`).mount
    : { mysql: '/var/lib/mysql', mariadb: '/var/lib/mysql', redis: '/data' }[found.engine];

/** The engine and version of an official image (postgres:16-alpine, docker.io/library/mysql:8.0). */
export function dataEngineOf(image: string | null | undefined): { engine: DataEngine; version?: string } | undefined {
  if (!image) return undefined;
  const m = /^(?:(?:docker\.io\/)?(?:library\/)?)(postgres|mysql|mariadb|redis)(?::([^@]+))?(?:@.*)?$/.exec(image);
  if (!m) return undefined;
  const version = /^(\d+(?:\.\d+)?)/.exec(m[2] ?? '')?.[1];
  const engine = m[1] as DataEngine;
  // "same major version": PostgreSQL and Redis majors are one number, MySQL/MariaDB's are two (8.0, 10.11)
  const major = version && (engine === 'postgres' || engine === 'redis') ? version.split('.')[0] : version;
  return { engine, version: major };
}

export interface DatastoreImport {
  section: 'databases' | 'caches';
  spec: Record<string, unknown>;
  store: Datastore;
  /** file name under .wharf/secrets -> value */
  secretFiles: Record<string, string>;
  /** the Compose volume key of the data volume it keeps */
  dataVolume?: string;
}

const envKeys = {
  postgres: { user: 'POSTGRES_USER', db: 'POSTGRES_DB', pw: 'POSTGRES_PASSWORD', root: undefined },
  mysql: { user: 'MYSQL_USER', db: 'MYSQL_DATABASE', pw: 'MYSQL_PASSWORD', root: 'MYSQL_ROOT_PASSWORD' },
  mariadb: { user: 'MARIADB_USER', db: 'MARIADB_DATABASE', pw: 'MARIADB_PASSWORD', root: 'MARIADB_ROOT_PASSWORD' },
} as const;

const IDENT = /^[a-zA-Z_][a-zA-Z0-9_]{0,31}$/;

export function importDatastore(
  src: string,
  name: string,
  svc: ComposeService,
  found: { engine: DataEngine; version?: string },
  acc: Account,
  volumeOf: (composeKey: string) => { name: string; reused: boolean } | undefined,
): DatastoreImport {
  const section = found.engine === 'redis' ? 'caches' : 'databases';
  const at = `${section}.${name}`;
  const p = `services.${src}`;
  const spec: Record<string, unknown> = { engine: found.engine };
  const secretFiles: Record<string, string> = {};
  const passwords: string[] = [];
  if (found.version) {
    spec.version = found.version;
    if (svc.image === `${found.engine}:${found.version}`) acc.kept(`${p}.image`, `${at}.version`);
    else
      acc.changed(
        `${p}.image`,
        `${at}.version`,
        `${svc.image} -> ${found.engine} ${found.version}: wharf runs its own ${found.engine}:${found.version} image (same engine and major version)`,
      );
  } else
    acc.changed(
      `${p}.image`,
      `${at}.engine`,
      `${svc.image} has no version (untagged or :latest): wharf's pinned ${found.engine} image is used`,
    );

  const env = Object.fromEntries(Object.entries(svc.environment ?? {}).map(([k, v]) => [k, v === null ? null : unescapeDollars(v)]));
  const used = new Set<string>();
  if (found.engine === 'redis') {
    const cmd = svc.command ?? [];
    const i = cmd.indexOf('--requirepass');
    const pw = i >= 0 ? cmd[i + 1] : undefined;
    if (pw) {
      secretFiles[`${name}-password`] = pw;
      passwords.push(pw);
    }
    if (svc.command)
      acc.changed(
        `${p}.command`,
        pw ? `.wharf/secrets/${name}-password` : `${at}`,
        'wharf runs Redis with its own settings (ACL file, maxmemory, snapshots)' +
          (pw ? '; the --requirepass password is kept as the ACL password' : ''),
      );
  } else {
    const k = envKeys[found.engine];
    const alias = found.engine === 'mariadb' ? envKeys.mysql : undefined;
    const read = (key: string, other?: string) => {
      for (const x of [key, other]) if (x && env[x] != null && env[x] !== '') return (used.add(x), env[x]!);
      return undefined;
    };
    const user = read(k.user, alias?.user);
    const db = read(k.db, alias?.db);
    const pw = read(k.pw, alias?.pw);
    const root = k.root ? read(k.root, alias?.root) : undefined;
    const dbUser = user ?? (found.engine === 'postgres' ? 'postgres' : undefined);
    if (dbUser && IDENT.test(dbUser)) spec.user = dbUser;
    const dbName = db ?? (found.engine === 'postgres' ? dbUser : undefined);
    if (dbName && IDENT.test(dbName)) spec.database = dbName;
    // Postgres without POSTGRES_USER: the password is the superuser's, and that is the user wharf connects as.
    const userPw = pw;
    if (userPw) {
      secretFiles[`${name}-password`] = userPw;
      passwords.push(userPw);
    }
    if (root) {
      secretFiles[`${name}-root-password`] = root;
      passwords.push(root);
    }
    for (const key of used) {
      const to =
        key === k.pw || key === alias?.pw
          ? `.wharf/secrets/${name}-password`
          : key === k.root || key === alias?.root
            ? `.wharf/secrets/${name}-root-password`
            : key === k.user || key === alias?.user
              ? `${at}.user`
              : `${at}.database`;
      const fine = to.startsWith('.wharf') || (to.endsWith('.user') ? spec.user : spec.database);
      if (to.startsWith('.wharf')) acc.changed(`${p}.environment.${key}`, to, 'the password moved out of the spec into a secret file');
      else if (fine) acc.kept(`${p}.environment.${key}`, to);
      else acc.dropped(`${p}.environment.${key}`, `"${env[key]}" is not a plain SQL identifier wharf accepts: set ${to} by hand`);
    }
    if (!spec.user)
      acc.changed(`${p}.environment`, `${at}.user`, `no ${k.user}: wharf creates the user "app" (the stack's services connect as it)`);
    if (!userPw) acc.changed(`${p}.environment`, `.wharf/secrets/${name}-password`, 'no user password was set: wharf generates one');
  }
  for (const key of Object.keys(env)) {
    if (used.has(key)) continue;
    const file = /PASSWORD_FILE$/.test(key) ? /^\/run\/secrets\/(.+)$/.exec(env[key] ?? '')?.[1] : undefined;
    const to = `.wharf/secrets/${name}-${/ROOT/.test(key) ? 'root-' : ''}password`;
    if (file)
      acc.changed(
        `${p}.environment.${key}`,
        to,
        `${found.engine} gets its own password file (${to}, generated at \`wharf up\`); ` +
          `to keep the password services read from secret ${file}, write that file's content to ${to} first`,
      );
    else acc.dropped(`${p}.environment.${key}`, `Wharf configures ${found.engine} itself; set it in a custom image if needed`);
  }

  const dir = dataDir(found);
  // either layout of the postgres image: before 18 the data volume is at .../data, from 18 at /var/lib/postgresql
  const data = (svc.volumes ?? []).find(
    (v) => v.target === dir || (found.engine === 'postgres' && ['/var/lib/postgresql', '/var/lib/postgresql/data'].includes(v.target)),
  );
  const kept = data?.type === 'volume' && data.source ? volumeOf(data.source) : undefined;
  if (kept) spec.volume = kept.name;
  for (const [i, v] of (svc.volumes ?? []).entries()) {
    if (v === data && kept && v.target !== dir)
      // the image's version and the mount disagree (or the major is unknown): the data is not where wharf's postgres looks
      acc.changed(
        `${p}.volumes[${i}]`,
        `${at}.volume`,
        `the data volume, backed up daily${kept.reused ? ': the same Docker volume' : ''}, mounted at ${dir} ` +
          `(Compose: ${v.target}): move an existing volume's data to where PostgreSQL ${found.version ?? '16'} keeps it before \`wharf up\``,
      );
    else if (v === data && kept)
      acc.kept(`${p}.volumes[${i}]`, `${at}.volume`, `the data volume, backed up daily${kept.reused ? ': the same Docker volume' : ''}`);
    else if (v === data)
      acc.changed(
        `${p}.volumes[${i}]`,
        `${at}`,
        `the ${v.type} mount of ${v.source ?? '?'} becomes wharf's data volume ${name}-data: copy the data over`,
      );
    else acc.dropped(`${p}.volumes[${i}]`, `Wharf mounts only the data volume of a ${found.engine}: build extra files into a custom image`);
  }
  if (found.engine === 'redis') spec.persistence = Boolean(data) || /--(appendonly|save)\b/.test((svc.command ?? []).join(' '));
  if (section === 'databases' || spec.persistence) {
    spec.backup = { schedule: '@daily' };
    if (!data && section === 'databases')
      acc.changed(`${p}`, `${at}.backup`, 'the database had no data volume: wharf keeps its data on the volume ' + `${name}-data`);
  }
  const dataVolume = kept ? (data?.source ?? undefined) : undefined;
  return { section, spec, store: { name, engine: found.engine, passwords }, secretFiles, dataVolume };
}
