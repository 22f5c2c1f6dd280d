// The shape of an Ansible role as data (roles.ts, k3s.ts): tasks are plain objects serialised by toYaml.
export type Task = Record<string, unknown>;
export interface Role {
  tasks: Task[];
  handlers?: Task[];
  templates?: Record<string, string>;
  files?: Record<string, string>;
}
