// A service's environment: plain values kept; password-like ones (by key name, by a password in a
// URL, or by use: a datastore's own password) moved to secret files and referenced.
import type { Account } from './account.js';
import type { Datastore } from './datastores.js';
import { hasUrlPassword, passwordLikeKey, uniqueName, unescapeDollars, wharfName } from './values.js';

export interface EnvContext {
  stores: Datastore[];
  /** wharf secret name -> value, written to .wharf/secrets/NAME */
  userSecrets: Record<string, string>;
  secretNames: Set<string>;
}

export type EnvValue = string | { secret: string; as?: 'file' | 'value' };

export interface EnvImport {
  env: Record<string, EnvValue>;
  uses: string[];
  /** names of user secrets the service now references */
  secrets: string[];
  /** some variable needs its secret exported at start (the service then needs a full command) */
  needsValue: Array<{ key: string; to: string }>;
}

export function importEnv(
  src: string,
  service: string,
  environment: Record<string, string | null>,
  ctx: EnvContext,
  acc: Account,
): EnvImport {
  const out: EnvImport = { env: {}, uses: [], secrets: [], needsValue: [] };
  const p = `services.${src}.environment`;
  for (const [key, raw] of Object.entries(environment)) {
    const to = `services.${service}.env.${key}`;
    if (raw === null) {
      acc.dropped(`${p}.${key}`, 'no value in the environment Compose read: set it under env in wharf.yaml');
      continue;
    }
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      acc.dropped(`${p}.${key}`, 'not a portable environment variable name: rename it in the image or the application');
      continue;
    }
    const value = unescapeDollars(raw);
    const store = value.length >= 4 ? ctx.stores.find((s) => s.passwords.some((pw) => value.includes(pw))) : undefined;
    if (store) {
      const whole = store.passwords.includes(value);
      const ref = `${store.name}.${whole ? 'password' : 'url'}`;
      if (!out.uses.includes(store.name)) out.uses.push(store.name);
      const why = whole
        ? `the ${store.engine} password: read from wharf's ${store.name}-password secret`
        : `holds the ${store.engine} password: replaced by wharf's connection URL (${store.name}-url: same user, host and database; sslmode=disable for postgres)`;
      out.env[key] = { secret: ref };
      if (!key.endsWith('_FILE')) out.needsValue.push({ key, to });
      acc.changed(`${p}.${key}`, to, why);
      continue;
    }
    if (value !== '' && (passwordLikeKey(key) || hasUrlPassword(value))) {
      const name = uniqueName(wharfName(`${service}-${key}`.slice(0, 32), 'secret'), ctx.secretNames);
      ctx.userSecrets[name] = value;
      out.secrets.push(name);
      out.env[key] = { secret: name };
      out.needsValue.push({ key, to });
      acc.changed(`${p}.${key}`, to, `password-like value moved to .wharf/secrets/${name} (secrets.${name})`);
      continue;
    }
    out.env[key] = value;
    acc.kept(`${p}.${key}`, to);
  }
  return out;
}

/**
 * An env secret read `as: value` needs the full start command (wharf's wrapper becomes the
 * entrypoint). Without one, the variable is renamed NAME_FILE and holds the secret's path.
 */
export function settleSecretEnv(
  env: EnvImport,
  hasStartCommand: boolean,
  acc: Account,
  src: string,
  service: string,
): Record<string, EnvValue> {
  if (hasStartCommand || !env.needsValue.length) return env.env;
  const out: Record<string, EnvValue> = {};
  const moved = new Set(env.needsValue.map((n) => n.key));
  for (const [k, v] of Object.entries(env.env)) {
    if (!moved.has(k) || typeof v === 'string') {
      out[k] = v;
      continue;
    }
    const fileKey = `${k}_FILE`;
    out[fileKey] = { secret: v.secret };
    acc.amend(
      `services.${src}.environment.${k}`,
      'changed',
      `services.${service}.env.${fileKey}`,
      `renamed ${fileKey} (it holds the path of the secret file): the image must read ${fileKey}, ` +
        `or give services.${src}.entrypoint in Compose so wharf can export ${k} at start`,
    );
  }
  return out;
}
