// wharf.config.ts runs in a child process (node + tsx) with a time limit: a config
// that calls process.exit, loops forever or throws a string cannot take wharf
// with it. The child sends back the default export as JSON over IPC.
// `import ... from 'wharf'` in the config resolves to the running wharf itself, so a config
// works from a clone, from npx and from a global install alike (for ESM and CommonJS loading).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const CONFIG_TIMEOUT_MS = 10_000;

export type ConfigResult = { ok: true; value: unknown } | { ok: false; message: string; hint?: string };

// Runs inside the child. Kept as text so the bundled CLI needs no extra file.
const runner = `
import { inspect } from 'node:util';
import Module, { register } from 'node:module';
const self = { esmUrl: process.env.WHARF_SELF_ESM_URL, cjs: process.env.WHARF_SELF_CJS };
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  return request === 'wharf' ? self.cjs : resolveFilename.call(this, request, ...rest);
};
const hook = 'export async function resolve(s, c, next) { return s === "wharf" ? { url: ' +
  JSON.stringify(self.esmUrl) + ', shortCircuit: true } : next(s, c); }';
register('data:text/javascript,' + encodeURIComponent(hook));
const send = (m) => process.send(m, () => process.exit(0));
process.on('disconnect', () => process.exit(1)); // wharf is gone (Ctrl-C): so is the config
try {
  const mod = await import(process.env.WHARF_CONFIG_URL);
  let v = mod.default;
  // Outside an ESM package tsx loads the file as CommonJS: module.exports arrives as the default,
  // marked __esModule, with the real default export (if any) inside it.
  if (v && typeof v === 'object' && v.__esModule) v = v.default;
  if (v === undefined) send({ kind: 'no-default' });
  else {
    let json;
    try { json = JSON.stringify(v); } catch (e) { send({ kind: 'error', message: 'its default export cannot be turned into JSON: ' + (e && e.message) }); }
    if (json !== undefined) send({ kind: 'ok', json });
  }
} catch (e) {
  send(e instanceof Error ? { kind: 'error', message: e.message || String(e) } : { kind: 'throw', message: inspect(e) });
}
`;

/** The public entry of the running wharf: the bundle's index.js/.cjs, or src/index.ts in a checkout run through tsx. */
export function selfEntry(): { esm: string; cjs: string; types: string } {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.ts')) {
    const src = join(dirname(here), '..', 'index.ts');
    return { esm: src, cjs: src, types: src };
  }
  // dist/bundle/<chunk>.js, or dist/spec/config-file.js from the plain tsc build.
  const bundle = existsSync(join(dirname(here), 'index.js')) ? dirname(here) : join(dirname(here), '..', 'bundle');
  return { esm: join(bundle, 'index.js'), cjs: join(bundle, 'index.cjs'), types: join(bundle, '..', 'types', 'index.d.ts') };
}

function timeoutMs(given?: number): number {
  const env = Number(process.env.WHARF_CONFIG_TIMEOUT_MS);
  return given ?? (Number.isFinite(env) && env > 0 ? env : CONFIG_TIMEOUT_MS);
}

/**
 * A config is a program run with the user's rights, so, as ssh does with its keys, one that
 * someone else could have changed is refused: it must belong to the user (or root) and be
 * writable by nobody else. Returns why not, or undefined.
 */
export function untrustedConfig(file: string): string | undefined {
  const st = statSync(file);
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid && st.uid !== 0) return `belongs to uid ${st.uid}, not to you (uid ${uid})`;
  // Group-writable is fine when the group is the user's own (Debian's user private groups, umask 002), as ssh allows there.
  if (st.mode & 0o022 && !(!(st.mode & 0o002) && privateGroup(st.gid)))
    return `can be changed by ${st.mode & 0o002 ? 'every user' : 'its group'} (mode ${(st.mode & 0o777).toString(8)})`;
  return undefined;
}

/** A group named like the user, the user's primary group, with no other members listed. */
function privateGroup(gid: number): boolean {
  if (gid !== process.getgid?.()) return false;
  let lines: string[];
  try {
    lines = readFileSync('/etc/group', 'utf8').split('\n');
  } catch {
    return false;
  }
  const entry = lines.map((l) => l.split(':')).find((f) => f[2] === String(gid));
  return !!entry && entry[0] === userInfo().username && !entry[3];
}

export function evaluateConfig(file: string, opts: { timeoutMs?: number } = {}): Promise<ConfigResult> {
  const shown = basename(file);
  const why = untrustedConfig(file);
  if (why)
    return Promise.resolve({
      ok: false,
      message: `${shown} is code wharf would run with your rights, and it ${why}: not run`,
      hint: `read it, then make it yours and private to change: chown $(id -u) ${shown} && chmod go-w ${shown}`,
    });
  const limit = timeoutMs(opts.timeoutMs);
  const tsx = import.meta.resolve('tsx');
  const self = selfEntry();
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--import', tsx, '--input-type=module', '--eval', runner], {
      env: {
        ...process.env,
        WHARF_CONFIG_URL: pathToFileURL(file).href,
        WHARF_SELF_ESM_URL: pathToFileURL(self.esm).href,
        WHARF_SELF_CJS: self.cjs,
      },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      // its own process group, killed whole: what the config started (unless it left the group) ends with it
      detached: true,
    });
    const killGroup = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // the group is gone already
      }
    };
    let stderr = '';
    let reply: { kind: string; json?: string; message?: string } | undefined;
    let settled = false;
    const finish = (r: ConfigResult) => {
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        done(r);
      }
    };
    const timer = setTimeout(() => {
      killGroup();
      finish({
        ok: false,
        message: `${shown} did not finish within ${limit / 1000}s`,
        hint: 'an endless loop, or a promise that never settles, at the top level of the config',
      });
    }, limit);
    child.stderr!.on('data', (b: Buffer) => {
      if (stderr.length < 64 * 1024) stderr += b.toString('utf8');
    });
    child.on('message', (m) => {
      reply = m as typeof reply;
    });
    child.on('error', (e) => finish({ ok: false, message: `could not start node to evaluate ${shown}: ${e.message}` }));
    child.on('exit', (code, signal) => {
      killGroup();
      if (reply?.kind === 'ok') {
        try {
          finish({ ok: true, value: JSON.parse(reply.json!) });
        } catch (e) {
          finish({ ok: false, message: `${shown}: ${(e as Error).message}` });
        }
      } else if (reply?.kind === 'no-default') {
        finish({ ok: false, message: `${shown} has no default export`, hint: 'export default defineStack({...})' });
      } else if (reply?.kind === 'error') {
        finish({ ok: false, message: `${shown} failed: ${reply.message}` });
      } else if (reply?.kind === 'throw') {
        finish({
          ok: false,
          message: `${shown} threw a non-Error value: ${reply.message}`,
          hint: 'throw new Error("...") so the message and stack survive',
        });
      } else {
        const tail = stderr.trim().split('\n').slice(-5).join('\n');
        finish({
          ok: false,
          message: `${shown} ended ${signal ? `by signal ${signal}` : `with exit code ${code}`} before exporting a stack${tail ? `:\n${tail}` : ''}`,
          hint: 'a config must not call process.exit; export default defineStack({...})',
        });
      }
    });
  });
}
