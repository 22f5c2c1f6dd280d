// The layers of src/ (DESIGN.md, "one direction of flow"), checked by `npm run lint:layers`:
//
//   escape  <- spec <- plan <- render <- check      (check renders and reads plan/spec to judge them)
//                                  ^       ^
//                      secrets ----+       |        (secrets: the workspace's secret files; toYaml from render)
//                      engine  ----+       |        (commands as data for a target; reads plan/render names)
//                      import -> check, engine, plan, spec, escape  (a Compose project in, a spec document out)
//                      ops  -> engine, secrets, check, render, plan, spec, escape
//                      cli  -> anything below it (src/index.ts, the package entry, likewise)
//
//   fs (confined file access, fs/confined.ts) sits on spec: secrets, check, ops and cli use it.
//
// A rule names the arrows a layer must not draw; everything else is allowed. Tests beside their
// source (*.test.ts) may reach up (a render test runs the checker on its output): they are no
// part of the shipped graph and are exempt from the layer rules, not from the cycle rule.
const test = '\\.test\\.ts$';

/** A layer (a folder of src/) may not import any of `above`. */
function layer(name, above, why) {
  return {
    name: `${name}-not-up`,
    comment: why,
    severity: 'error',
    from: { path: `^src/${name}/`, pathNot: test },
    to: { path: `^src/(${above.join('|')})/` },
  };
}

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'A cycle hides which module is the lower one: move the shared piece down (e.g. check/rule.ts).',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    layer(
      'escape',
      ['spec', 'fs', 'plan', 'render', 'check', 'secrets', 'engine', 'ops', 'cli', 'import'],
      'escape/ quotes and encodes strings for one syntax each: it knows nothing of wharf',
    ),
    layer(
      'spec',
      ['fs', 'plan', 'render', 'check', 'secrets', 'engine', 'ops', 'cli', 'import'],
      "spec/ parses and validates the user's file; only escape/ is below it",
    ),
    layer(
      'fs',
      ['plan', 'render', 'check', 'secrets', 'engine', 'ops', 'cli', 'import'],
      'fs/ confines reads and writes to the project directory; it knows only paths and spec issues',
    ),
    layer(
      'plan',
      ['render', 'check', 'secrets', 'engine', 'ops', 'cli', 'import'],
      'plan/ is the target-neutral model built from the spec; it never knows an output format',
    ),
    layer(
      'render',
      ['check', 'secrets', 'engine', 'ops', 'cli', 'import'],
      'render/ is pure: plan -> files; it does not judge (check), spawn (engine) or operate (ops)',
    ),
    layer('check', ['secrets', 'engine', 'ops', 'cli', 'import'], 'check/ judges spec, plan and rendered files; it never runs anything'),
    layer(
      'secrets',
      ['check', 'engine', 'ops', 'cli', 'import'],
      'secrets/ makes and seals the secret files ops write; it may use render/files for YAML',
    ),
    layer('engine', ['check', 'secrets', 'ops', 'cli', 'import'], 'engine/ builds commands as data and runs them; ops decide what to run'),
    layer('ops', ['cli', 'import'], 'ops/ return results; only cli/ prints and picks exit codes'),
    layer('import', ['ops', 'cli', 'render', 'secrets'], 'import/ turns a Compose project into a spec document; it operates nothing'),
    {
      name: 'testing-only-from-tests',
      comment: 'engine/testing/ (tiny stacks for tests) is not shipped: only tests may import it',
      severity: 'error',
      from: { path: '^src/', pathNot: test },
      to: { path: '^src/engine/testing/' },
    },
    {
      name: 'no-test-code-in-src',
      comment: 'shipped code never imports test files or test/ support',
      severity: 'error',
      from: { path: '^src/', pathNot: [test, '^src/engine/testing/'] },
      to: { path: [test, '^test/'] },
    },
    {
      name: 'not-to-dev-dep',
      comment: 'shipped code may only import dependencies a user installs (package.json "dependencies")',
      severity: 'error',
      from: { path: '^src/', pathNot: [test, '^src/engine/testing/', '\\.d\\.ts$', '\\.mjs$'] }, // .mjs: build-time generators
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'an import that resolves to nothing fails at run time',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|apps/[^/]+/dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.test.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.d.ts', '.json'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
