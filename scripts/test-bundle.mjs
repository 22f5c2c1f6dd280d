// Pure and tools test files, compiled once before a run instead of by tsx in every test process.
// Under tsx each of the ~130 processes resolves and loads several hundred modules through its
// loader hooks (1-2.5 s of CPU each, before a test runs); one esbuild build of every file, with
// the modules they share split into common chunks, takes a few seconds, and a process then loads
// plain JavaScript. The code is the same: esbuild is what tsx transpiles with. Each module keeps
// its own location: import.meta.url/dirname/filename are replaced by the source file's, so
// fixtures, snapshots, scripts read from disk and the CLI's own paths resolve as under tsx.
// Names are kept (class and function .name as in the source). WHARF_TEST_TSX=1 skips this.
import { build } from 'esbuild';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = join(import.meta.dirname, '..');
const builds = join(root, '.test-build');
// one directory per run (its runner's pid): two runs in one checkout do not replace each other's files
const bundleDir = join(builds, `run-${process.pid}`);

// The bundle of the i-th file: .test-build/run-<pid>/<i>/<its path>.mjs (the tier guard and file-times map
// it back). `node --test` starts files in the sorted order of their paths: the number keeps the caller's.
const outOf = (file, i) => `${String(i).padStart(4, '0')}/${relative(root, file).replace(/\.ts$/, '')}`;

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
};

/** Removes this run's build, and those of runs that ended without removing theirs. */
export function removeBundles() {
  rmSync(bundleDir, { recursive: true, force: true });
  if (!existsSync(builds)) return;
  for (const d of readdirSync(builds)) {
    const pid = Number(/^run-(\d+)$/.exec(d)?.[1] ?? 0);
    if (!(pid > 0 && alive(pid))) rmSync(join(builds, d), { recursive: true, force: true });
  }
}

const ownLocation = {
  name: 'own-location',
  setup(b) {
    b.onLoad({ filter: /\.(ts|mjs|js)$/ }, (args) => {
      if (args.path.includes('/node_modules/')) return undefined;
      const contents = readFileSync(args.path, 'utf8')
        .replaceAll('import.meta.dirname', JSON.stringify(dirname(args.path)))
        .replaceAll('import.meta.filename', JSON.stringify(args.path))
        .replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href));
      return { contents, loader: args.path.endsWith('.ts') ? 'ts' : 'js', resolveDir: dirname(args.path) };
    });
  },
};

/** Builds every file's bundle; returns their paths, in the order given (the order `node --test` starts them in). */
export async function bundleTests(files) {
  removeBundles();
  await build({
    absWorkingDir: root,
    entryPoints: files.map((f, i) => ({ in: f, out: outOf(f, i) })),
    outdir: bundleDir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    keepNames: true,
    sourcemap: 'linked',
    logLevel: 'error',
    plugins: [ownLocation],
  });
  return files.map((f, i) => join(bundleDir, `${outOf(f, i)}.mjs`));
}
