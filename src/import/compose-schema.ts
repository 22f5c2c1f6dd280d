// The parts of `docker compose config --format json` that import reads (field names as Compose
// v2 prints them: ports and volumes in long syntax, durations as Go text, memory in bytes).
// Loose objects: every other key is kept so the account can name it.
import { z } from 'zod';

const nullish = <T extends z.ZodType>(t: T) => t.nullish();

export const portSchema = z.looseObject({
  target: z.number().int(),
  published: nullish(z.union([z.string(), z.number()])),
  protocol: nullish(z.string()),
  host_ip: nullish(z.string()),
  mode: nullish(z.string()),
});

export const mountSchema = z.looseObject({
  type: z.string(),
  source: nullish(z.string()),
  target: z.string(),
  read_only: nullish(z.boolean()),
});

export const healthcheckSchema = z.looseObject({
  test: nullish(z.array(z.string())),
  interval: nullish(z.string()),
  timeout: nullish(z.string()),
  retries: nullish(z.number()),
  start_period: nullish(z.string()),
  disable: nullish(z.boolean()),
});

export const deploySchema = z.looseObject({
  replicas: nullish(z.number().int()),
  resources: nullish(
    z.looseObject({
      limits: nullish(
        z.looseObject({ cpus: nullish(z.union([z.number(), z.string()])), memory: nullish(z.union([z.string(), z.number()])) }),
      ),
    }),
  ),
});

const fileRef = z.looseObject({ source: z.string(), target: nullish(z.string()) });

export const composeServiceSchema = z.looseObject({
  image: nullish(z.string()),
  build: nullish(
    z.looseObject({
      context: nullish(z.string()),
      dockerfile: nullish(z.string()),
      args: nullish(z.record(z.string(), z.string().nullable())),
    }),
  ),
  command: nullish(z.array(z.string())),
  entrypoint: nullish(z.array(z.string())),
  environment: nullish(z.record(z.string(), z.string().nullable())),
  ports: nullish(z.array(portSchema)),
  expose: nullish(z.array(z.union([z.string(), z.number()]))),
  volumes: nullish(z.array(mountSchema)),
  healthcheck: nullish(healthcheckSchema),
  deploy: nullish(deploySchema),
  depends_on: nullish(z.record(z.string(), z.looseObject({ condition: nullish(z.string()) }))),
  networks: nullish(z.record(z.string(), z.unknown())),
  secrets: nullish(z.array(fileRef)),
  configs: nullish(z.array(fileRef)),
  user: nullish(z.string()),
  restart: nullish(z.string()),
  cpus: nullish(z.union([z.number(), z.string()])),
  mem_limit: nullish(z.union([z.string(), z.number()])),
  scale: nullish(z.number().int()),
  labels: nullish(z.record(z.string(), z.string())),
  cap_add: nullish(z.array(z.string())),
});

const topFile = z.looseObject({
  name: nullish(z.string()),
  file: nullish(z.string()),
  environment: nullish(z.string()),
  content: nullish(z.string()),
  external: nullish(z.unknown()),
});

export const composeProjectSchema = z.looseObject({
  name: z.string(),
  services: z.record(z.string(), composeServiceSchema),
  volumes: nullish(z.record(z.string(), z.looseObject({ name: nullish(z.string()), external: nullish(z.unknown()) }))),
  networks: nullish(z.record(z.string(), z.unknown())),
  secrets: nullish(z.record(z.string(), topFile)),
  configs: nullish(z.record(z.string(), topFile)),
});

export type ComposeProject = z.output<typeof composeProjectSchema>;
export type ComposeService = z.output<typeof composeServiceSchema>;
export type ComposeMount = z.output<typeof mountSchema>;
