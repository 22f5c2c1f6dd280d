// Materialises the plan's secrets as files under .wharf/secrets. Values come
// from a CSPRNG (or a user file) and are never printed; derived files (htpasswd,
// HAProxy userlist, Redis ACL, exporter configs, TLS) are computed from them.
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { assertWritable, mkdirInside, readInside, writeInside } from '../fs/confined.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { connectionUrl } from '../escape/url.js';
import type { Plan, Secret } from '../plan/model.js';
import { UserInputError, type Issue } from '../spec/issues.js';
import { OperationError } from '../errors.js';

export interface SecretsResult {
  dir: string;
  created: string[];
  kept: string[];
}

/** URL- and shell-safe alphabet so secrets survive DSNs, config files and env. */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function randomSecret(length: number): string {
  // Rejection sampling: no modulo bias.
  const out: string[] = [];
  const limit = 256 - (256 % ALPHABET.length);
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) {
      if (b < limit && out.length < length) out.push(ALPHABET[b % ALPHABET.length]!);
    }
  }
  return out.join('');
}

/**
 * Secret files are 0644 inside a 0700 directory: the directory keeps other host
 * users out, while Compose (outside Swarm) bind-mounts each file with its host mode,
 * and non-root containers (the API, Grafana, exporters) must be able to read theirs.
 */
const DIR_MODE = 0o700;
const FILE_MODE = 0o644;

/**
 * Works out every secret in memory first (generated, derived, copied from user files), and
 * writes only once all of them succeeded: a missing user file or a failing openssl leaves
 * .wharf/secrets as it was (or absent).
 */
export async function ensureSecrets(plan: Plan, secretsDir: string, projectDir: string): Promise<SecretsResult> {
  // User files first, all of them: a missing file, or one outside the project, stops us before anything is written.
  const userFiles = new Map<string, Buffer>();
  const refused: Issue[] = [];
  for (const s of plan.secrets) {
    if (s.source.kind !== 'file') continue;
    try {
      userFiles.set(s.name, readUserFile(projectDir, s.source));
    } catch (e) {
      if (!(e instanceof UserInputError)) throw e;
      refused.push(...e.issues);
    }
  }
  if (refused.length) throw new UserInputError(refused);
  assertWritable(projectDir, [secretsDir]);

  const created: string[] = [];
  const kept: string[] = [];
  const byName = new Map(plan.secrets.map((s) => [s.name, s]));
  const values = new Map<string, string | Buffer>();
  const writes: Array<{ path: string; contents: string | Buffer }> = [];
  const onDisk = (name: string) => readFileSync(join(secretsDir, name));
  const read = (name: string) => String(values.get(name) ?? onDisk(name).toString('utf8'));

  const visit = async (s: Secret, stack: string[]): Promise<void> => {
    if (values.has(s.name)) return;
    if (stack.includes(s.name)) throw new Error(`secret dependency cycle: ${[...stack, s.name].join(' -> ')}`);
    for (const dep of deps(s)) {
      const d = byName.get(dep);
      if (!d) throw new Error(`secret ${s.name} derives from unknown secret ${dep}`);
      await visit(d, [...stack, s.name]);
    }
    const path = join(secretsDir, s.name);
    const fingerprint = inputsFingerprint(s, read);
    const metaPath = join(secretsDir, `.${s.name}.inputs`);
    const fresh =
      existsSync(path) &&
      statSync(path).size > 0 &&
      (fingerprint === undefined || (existsSync(metaPath) && readFileSync(metaPath, 'utf8') === fingerprint));
    if (s.source.kind === 'file') {
      const value = userFiles.get(s.name)!;
      if (!existsSync(path) || !onDisk(s.name).equals(value)) {
        writes.push({ path, contents: value });
        created.push(s.name);
      } else kept.push(s.name);
      values.set(s.name, value);
    } else if (fresh) {
      kept.push(s.name);
      values.set(s.name, onDisk(s.name).toString('utf8'));
    } else {
      const value = await derive(s, read);
      writes.push({ path, contents: value });
      if (fingerprint !== undefined) writes.push({ path: metaPath, contents: fingerprint });
      values.set(s.name, value);
      created.push(s.name);
    }
  };
  for (const s of plan.secrets) await visit(s, []);

  chmodSync(mkdirInside(projectDir, secretsDir, DIR_MODE), DIR_MODE);
  const ignore = join(secretsDir, '.gitignore');
  if (!existsSync(ignore)) writeInside(projectDir, ignore, '*\n', { mode: FILE_MODE });
  for (const w of writes) writeInside(projectDir, w.path, w.contents, { mode: FILE_MODE, dirMode: DIR_MODE });
  return { dir: secretsDir, created, kept };
}

function deps(s: Secret): string[] {
  const src = s.source;
  switch (src.kind) {
    case 'htpasswd':
    case 'haproxy-userlist':
    case 'redis-acl':
    case 'redis-exporter-passwords':
    case 'my-cnf':
    case 'connection-url':
      return [src.from];
    case 'tls-cert':
      return [src.key];
    case 'tls-pem':
      return [src.cert, src.key];
    default:
      return [];
  }
}

/** Derived files are rebuilt when what they are built from changes (a hash, never the value). */
function inputsFingerprint(s: Secret, read: (n: string) => string): string | undefined {
  if (s.source.kind === 'random' || s.source.kind === 'file' || s.source.kind === 'tls-key') return undefined;
  const h = createHash('sha256');
  h.update(JSON.stringify(s.source));
  for (const d of deps(s)) h.update(read(d));
  return h.digest('hex');
}

async function derive(s: Secret, read: (n: string) => string): Promise<string> {
  const src = s.source;
  switch (src.kind) {
    case 'random':
      return randomSecret(src.length);
    case 'htpasswd': {
      const { default: bcrypt } = await import('bcryptjs'); // only when (re)generating: keeps `render` quick
      return `${src.user}:${bcrypt.hashSync(read(src.from), 10)}\n`;
    }
    case 'haproxy-userlist': {
      // crypt(3) SHA-512: HAProxy checks it with libc crypt; the password goes through stdin, never argv.
      const stdout = openssl(['passwd', '-6', '-stdin'], read(src.from));
      return `userlist ${src.list}\n  user ${src.user} password ${stdout.trim()}\n`;
    }
    case 'redis-acl': {
      const hash = createHash('sha256').update(read(src.from)).digest('hex');
      return `user default on #${hash} ~* &* +@all\n`;
    }
    case 'redis-exporter-passwords':
      return `${JSON.stringify({ [src.address]: read(src.from) })}\n`;
    case 'my-cnf':
      return `[client]\nuser=${src.user}\npassword=${read(src.from)}\nhost=${src.host}\nport=${src.port}\n`;
    // No trailing newline: not every app trims what it reads from a *_FILE.
    case 'connection-url':
      return connectionUrl({ ...src, password: read(src.from) });
    case 'tls-key': {
      const stdout = openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']);
      return `${stdout.trim()}\n`;
    }
    case 'tls-cert': {
      const hosts = [...new Set(src.hosts)];
      const san = hosts.map((h) => `DNS:${h}`).join(',');
      // The key may not be in .wharf/secrets yet (secrets are written together at the end), and
      // openssl req reads it only from a file: a private temporary one, removed at once.
      const tmp = mkdtempSync(join(tmpdir(), 'wharf-tls-'));
      try {
        writeFileSync(join(tmp, 'key.pem'), read(src.key), { mode: 0o600 });
        const stdout = openssl([
          'req',
          '-x509',
          '-new',
          '-key',
          join(tmp, 'key.pem'),
          '-days',
          '397',
          '-sha256',
          '-subj',
          `/CN=${hosts[0] ?? 'localhost'}/O=wharf self-signed`,
          '-addext',
          `subjectAltName=${san}`,
          '-addext',
          `extendedKeyUsage=serverAuth${src.clientAuth ? ',clientAuth' : ''}`,
          '-addext',
          'basicConstraints=critical,CA:FALSE',
        ]);
        return `${stdout.trim()}\n`;
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
    }
    case 'tls-pem':
      return `${read(src.cert).trim()}\n${read(src.key).trim()}\n`;
    case 'file':
      throw new Error('unreachable');
  }
}

/** openssl through stdin/stdout only: secret material never appears on a command line. */
function openssl(args: string[], input?: string): string {
  try {
    return execFileSync('openssl', args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { code?: string; stderr?: string };
    if (e.code === 'ENOENT')
      throw new OperationError('openssl is required to generate TLS and HAProxy credentials: install the openssl package', { cause: err });
    throw new OperationError(`openssl ${args[0]} failed: ${String(e.stderr ?? '').split('\n')[0]}`, { cause: err });
  }
}

/**
 * A secret's source file, as the spec names it (secrets.<name>.file, tls.cert, tls.key): inside the
 * project, links included, or an absolute path, which is the user's explicit choice (`check` lists those).
 */
export function readUserFile(projectDir: string, src: { path: string; specPath: string }): Buffer {
  return readInside(projectDir, src.path, {
    what: src.specPath,
    allowAbsolute: true,
    hint: 'keep the file inside the project, or name it by its absolute path if it really lives elsewhere',
  });
}
