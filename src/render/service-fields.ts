// What Compose and Swarm stack files say alike about a container's process: the two
// renderers differ in build, ports, mounts and deploy, not in these.
import type { Component } from '../plan/model.js';
import { byCodeUnit } from '../plan/sort.js';

export function sortedRecord(o: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => byCodeUnit(a, b)));
}

/** The plan's hardening as Compose and Swarm say it (no-new-privileges is Compose's security_opt). */
export function capabilityFields(c: Component): Record<string, unknown> {
  const s: Record<string, unknown> = {};
  if (c.hardening.dropAllCaps) s.cap_drop = ['ALL'];
  if (c.hardening.addCaps.length) s.cap_add = [...c.hardening.addCaps];
  if (c.hardening.readOnlyRoot) s.read_only = true;
  return s;
}

/** entrypoint, command, user, init, environment and secrets, in the files' key order. */
export function processFields(c: Component): Record<string, unknown> {
  const s: Record<string, unknown> = {};
  if (c.entrypoint) s.entrypoint = c.entrypoint;
  if (c.command) s.command = c.command;
  if (c.user) s.user = c.user;
  if (c.init) s.init = true;
  if (Object.keys(c.env).length) s.environment = sortedRecord(c.env);
  if (c.secrets.length)
    s.secrets = c.secrets.map((m) => (m.target === `/run/secrets/${m.secret}` ? m.secret : { source: m.secret, target: m.target }));
  return s;
}
