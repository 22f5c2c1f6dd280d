#!/usr/bin/env node
// Runs the bundled CLI; in a source checkout without a build, the TypeScript through tsx.
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

const bundled = fileURLToPath(new URL('../dist/bundle/wharf.cjs', import.meta.url));
if (existsSync(bundled)) {
  run(bundled);
} else {
  const { tsImport } = await import('tsx/esm/api');
  await tsImport(new URL('../src/cli/run.ts', import.meta.url).href, import.meta.url);
}

// Compiling the bundle is a large part of a short command's time, and Node 20 has no
// module.enableCompileCache: keep V8's code cache of the bundle, one per command (each compiles
// different functions), written after the first run, in a directory only this user owns.
function run(file) {
  const source = readFileSync(file, 'utf8');
  const cacheFile = cachePath(file, /^[a-z][a-z-]{0,30}$/.test(process.argv[2] ?? '') ? process.argv[2] : 'other', 'bin');
  let cachedData;
  try {
    if (cacheFile) cachedData = readFileSync(cacheFile);
  } catch {
    // no cache yet
  }
  const script = new vm.Script(
    `(function (exports, require, module, __filename, __dirname, __wharf_resolve, __wharf_yaml_cache) {${source}\n})`,
    {
      filename: file,
      cachedData,
      importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
    },
  );
  if (cacheFile && (!cachedData || script.cachedDataRejected)) process.once('exit', () => saveCache(script, cacheFile));
  const module = { exports: {} };
  // YAML texts of earlier renders, one file per build of the bundle (src/cli/yaml-cache.ts).
  const yamlCache = cachePath(file, 'yaml', 'json');
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file), (s) => import.meta.resolve(s), yamlCache);
}

function cachePath(file, name, ext) {
  try {
    const uid = process.getuid?.() ?? 0;
    const dir = join(tmpdir(), `wharf-v8-cache-${uid}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const d = statSync(dir);
    if (d.uid !== uid || (d.mode & 0o077) !== 0) return undefined; // someone else's: never load code from it
    const b = statSync(file);
    return join(dir, `${process.version}-${process.arch}-${b.size}-${Math.floor(b.mtimeMs)}-${name}.${ext}`);
  } catch {
    return undefined;
  }
}

function saveCache(script, cacheFile) {
  try {
    const tmp = `${cacheFile}.${process.pid}`;
    writeFileSync(tmp, script.createCachedData(), { mode: 0o600 });
    renameSync(tmp, cacheFile);
    // caches of other builds untouched for a day (an older install): dropped when a new one is written
    const dir = dirname(cacheFile);
    const build = cacheFile
      .slice(dir.length + 1)
      .split('-')
      .slice(0, 4)
      .join('-');
    const dayAgo = Date.now() - 86_400_000;
    for (const f of readdirSync(dir)) if (!f.startsWith(`${build}-`) && statSync(join(dir, f)).mtimeMs < dayAgo) unlinkSync(join(dir, f));
  } catch {
    // a cache is an optimisation: a full disk or a read-only /tmp changes nothing else
  }
}
