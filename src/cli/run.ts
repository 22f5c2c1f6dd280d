// Entry point: bin/wharf.js runs it through tsx in a checkout, and the bundle (scripts/bundle.mjs) is built from it.
import { main } from './main.js';
import { keepYamlOnDisk } from './yaml-cache.js';

// The bundle runs inside bin/wharf.js, which passes the file of YAML texts kept between runs.
declare const __wharf_yaml_cache: string | undefined;
keepYamlOnDisk(typeof __wharf_yaml_cache === 'string' ? __wharf_yaml_cache : undefined);

// `wharf … | head -1`: the reader has gone, so nothing more can be shown. Stop quietly, as CLIs
// killed by SIGPIPE do (Node ignores that signal and raises EPIPE instead, unhandled: a stack trace).
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(process.exitCode ?? 0);
  });
}

void main().then((code) => {
  process.exitCode = code;
});
