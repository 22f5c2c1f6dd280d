// Loaded by scripts/run-tests.mjs into every test file's process (--import). A plain *.test.ts
// is the pure tier: no process, no socket. Here such a file's attempt to start a program or to
// open or accept a connection throws, naming the tier it belongs to, so a misclassified test
// fails the run instead of waiting for review. *.tools / *.engine / *.e2e .test.ts are free.
import childProcess from 'node:child_process';
import net from 'node:net';
import { syncBuiltinESMExports } from 'node:module';
import { basename } from 'node:path';

// a file compiled by scripts/test-bundle.mjs runs as .test-build/run-<pid>/<n>/<its path>.mjs: judged by its source's name
const file = (process.argv[1] ?? '').replace(/\/\.test-build\/run-\d+\/\d+\/(.*)\.test\.mjs$/, '/$1.test.ts');
const inTestFile = !!process.env.NODE_TEST_CONTEXT && file.endsWith('.test.ts');
const pure = inTestFile && !/\.(tools|engine|e2e)\.test\.ts$/.test(file);

if (pure) {
  const refuse = (what) => () => {
    throw new Error(
      `${basename(file)} is a pure test (plain *.test.ts) but ${what}: ` +
        'rename it *.tools.test.ts (validators, CLIs, loopback servers), *.engine.test.ts (containers) ' +
        'or *.e2e.test.ts (whole stacks), or split the file',
    );
  };
  for (const fn of ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork']) {
    childProcess[fn] = refuse(`starts a process (child_process.${fn})`);
  }
  net.connect = net.createConnection = refuse('opens a connection (net.connect)');
  net.Socket.prototype.connect = refuse('opens a connection (net.Socket#connect)');
  net.Server.prototype.listen = refuse('listens on a socket (net.Server#listen)');
  // ESM `import { spawn } from 'node:child_process'` sees the replaced functions too.
  syncBuiltinESMExports();
  // fetch() (undici) holds its own reference to net.connect: refuse it here too.
  globalThis.fetch = refuse('makes an HTTP request (fetch)');
}
