// `docker compose config --format json`: Compose's own reading of a project (override files in
// order, include, extends, profiles, .env and --env-file interpolation, env_file), so wharf import
// never re-implements the Compose specification.
import { cmd, type Cmd } from './command.js';
import type { ComposeBinary } from './detect.js';

export interface ComposeConfigInput {
  /** the directory relative paths and .env are read from */
  projectDir: string;
  /** compose files in override order; none: Compose's own default names */
  files: string[];
  envFiles: string[];
  /** profiles to enable; ['*'] imports every service */
  profiles: string[];
  /** `-p`: the project's name when it is not the `name:` key or the directory's (Compose's own precedence) */
  projectName?: string;
}

export function composeConfig(bin: ComposeBinary, o: ComposeConfigInput): Cmd {
  return cmd(
    [
      ...bin.argv,
      ...(o.projectName ? ['-p', o.projectName] : []),
      '--project-directory',
      o.projectDir,
      ...o.files.flatMap((f) => ['-f', f]),
      ...o.envFiles.flatMap((f) => ['--env-file', f]),
      ...o.profiles.flatMap((p) => ['--profile', p]),
      'config',
      '--format',
      'json',
    ],
    'read the Compose project as Compose resolves it',
    { cwd: o.projectDir, timeoutMs: 60_000 },
  );
}
