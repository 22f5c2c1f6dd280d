// Compose and Swarm: node-exporter runs on the host and publishes the textfile metrics another
// component writes (Plan.monitoring.textfiles: the backup's) from their volume.
import type { Component, Plan } from '../plan/model.js';

/** where the textfile collector reads (--collector.textfile.directory) */
export const TEXTFILE_DIR = '/textfile';

/** The component as a single-node-agent target runs it: node-exporter with the textfile volume. */
export function withTextfiles(plan: Plan, c: Component): Component {
  const t = plan.monitoring.textfiles;
  if (!t || c.role !== 'node-exporter') return c;
  return {
    ...c,
    mounts: [...c.mounts, { type: 'volume', source: t.volume, target: TEXTFILE_DIR, readOnly: true }],
    command: [...(c.command ?? []), `--collector.textfile.directory=${TEXTFILE_DIR}`],
  };
}
