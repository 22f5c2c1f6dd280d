// Entry point: bin/wharf.js runs it through tsx in a checkout, and the bundle (scripts/bundle.mjs) is built from it.
import { main } from './main.js';

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
