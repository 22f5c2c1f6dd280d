#!/usr/bin/env node
// Points a wharf.yaml at the locally built substitute images, for a machine that reaches no
// container registry (this workplace, an air-gapped host):
//
//   node scripts/docker/local-images.mjs [wharf.yaml]     # builds the images, edits the spec
//
// Builds (or finds) the images with build-test-images.sh, writes them into `images:`, and turns
// off what has no local substitute: Traefik (the edge becomes HAProxy), Grafana, cAdvisor and
// Portainer. Comments and the rest of the file are kept. The e2e suite applies the same
// changes through localSpec(), so what this prints is what the tests bring up.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';

const here = dirname(fileURLToPath(import.meta.url));

/** What cannot run without a registry, and what replaces it: [path in the spec, value, why]. */
export const localChanges = [
  [['proxy', 'kind'], 'haproxy', 'Traefik has no Debian package: HAProxy serves the same routes, TLS and auth'],
  [['monitoring', 'grafana'], false, 'Grafana has no Debian package'],
  [['monitoring', 'cadvisor'], false, 'cAdvisor has no Debian package'],
  [['extras', 'portainer'], false, 'Portainer has no Debian package'],
];

/** Applies the images map and the changes above to a plain spec object (the e2e suite's path). */
export function localSpec(spec, images) {
  spec.images = { ...(spec.images ?? {}), ...images };
  for (const [[a, b], value] of localChanges) spec[a] = { ...(spec[a] ?? {}), [b]: value };
  return spec;
}

/** The same on YAML text, keeping comments; returns the new text and what changed. */
export function localSpecText(text, images) {
  const doc = parseDocument(text);
  const changed = [];
  for (const [k, v] of Object.entries(images).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (doc.getIn(['images', k]) !== v) {
      doc.setIn(['images', k], v);
      changed.push(`images.${k}: ${v}`);
    }
  }
  for (const [path, value, why] of localChanges) {
    const cur = doc.getIn(path);
    const isOff = value === false ? cur === false || (cur === undefined && path[1] === 'portainer') : cur === value;
    if (!isOff) {
      doc.setIn(path, value);
      changed.push(`${path.join('.')}: ${value} (${why})`);
    }
  }
  return { text: doc.toString(), changed };
}

function main() {
  const file = resolve(process.argv[2] ?? 'wharf.yaml');
  process.stderr.write('[local-images] building or finding the substitute images (first run: a few minutes)\n');
  const out = execFileSync('bash', [join(here, 'build-test-images.sh'), '--json'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const images = JSON.parse(out.trim().split('\n').pop());
  const { text, changed } = localSpecText(readFileSync(file, 'utf8'), images);
  writeFileSync(file, text);
  process.stderr.write(
    changed.length
      ? `[local-images] ${file}:\n${changed.map((c) => `  ${c}`).join('\n')}\n`
      : `[local-images] ${file} already uses the local images\n`,
  );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
