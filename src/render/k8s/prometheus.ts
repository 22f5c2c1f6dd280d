// prometheus.yml for K3s: the same global settings, alerting and rule files as Compose
// (prometheusConfig), with each of the plan's scrape jobs found by Kubernetes service
// discovery instead of DNS:
//   - a component's job: role `pod` in its namespace only, kept when the pod's
//     app.kubernetes.io/name is the component and the container port is the job's port, so
//     the targets are exactly the plan's (one per running replica, as on Compose);
//   - `cadvisor`: role `node`, each kubelet's /metrics/cadvisor over HTTPS with the
//     ServiceAccount token. The kubelet labels series with namespace, pod, container (and
//     name = the runtime's container id, image, id); they are kept for this stack's
//     namespaces and their containers only, then `container` is copied to
//     container_label_dev_wharf_service and `pod` to `name`: the labels the Compose cAdvisor
//     gives the same series, so the container alerts and dashboards read one shape.
import type { Plan } from '../../plan/model.js';
import { promqlRegex } from '../../escape/promql.js';
import { prometheusConfig } from '../prometheus/index.js';
import { jobComponents } from '../prometheus/catalogue.js';
import { KUBELET_JOB } from './view.js';

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Anchored RE2 for exactly this value (relabel regexes are anchored by Prometheus). */
const exactly = (v: string) => promqlRegex([v]);

export function k8sPrometheusConfig(view: Plan, namespaceOf: (component: string) => string): Record<string, unknown> {
  const doc = prometheusConfig(view);
  const components = new Map(jobComponents(view).map((j) => [j.job, j.component]));
  doc.scrape_configs = view.monitoring.scrapeJobs.map((j) => {
    const component = components.get(j.job) ?? j.component;
    const job: Record<string, unknown> = { job_name: j.job, metrics_path: j.path };
    if (j.job === KUBELET_JOB) return kubeletJob(job, [...new Set(view.components.map((c) => namespaceOf(c.name)))].sort());
    if (j.discovery === 'static') {
      job.static_configs = [{ targets: [`${j.host}:${j.port}`], labels: { component } }];
      return job;
    }
    job.kubernetes_sd_configs = [{ role: 'pod', namespaces: { names: [namespaceOf(j.component)] } }];
    job.relabel_configs = [
      { source_labels: ['__meta_kubernetes_pod_label_app_kubernetes_io_name'], regex: exactly(j.component), action: 'keep' },
      { source_labels: ['__meta_kubernetes_pod_container_port_number'], regex: exactly(String(j.port)), action: 'keep' },
      { source_labels: ['__meta_kubernetes_pod_phase'], regex: 'Running', action: 'keep' },
      { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
      { target_label: 'component', replacement: component },
    ];
    return job;
  });
  return doc;
}

function kubeletJob(job: Record<string, unknown>, namespaces: string[]): Record<string, unknown> {
  return {
    job_name: job.job_name,
    metrics_path: '/metrics/cadvisor',
    scheme: 'https',
    // role node: one target per node, at its address and the kubelet's port (10250)
    kubernetes_sd_configs: [{ role: 'node' }],
    authorization: { credentials_file: `${SA_DIR}/token` },
    // K3s signs the kubelets' serving certificates with its server CA, the one in the token's ca.crt
    tls_config: { ca_file: `${SA_DIR}/ca.crt` },
    relabel_configs: [
      { source_labels: ['__meta_kubernetes_node_name'], target_label: 'node' },
      { target_label: 'component', replacement: 'cadvisor' },
    ],
    metric_relabel_configs: [
      { source_labels: ['namespace'], regex: promqlRegex(namespaces), action: 'keep' },
      // pod-level cgroups (container="") and the sandbox (container="POD") are not services
      { source_labels: ['container'], regex: '|POD', action: 'drop' },
      { source_labels: ['container'], target_label: 'container_label_dev_wharf_service' },
      { source_labels: ['pod'], target_label: 'name' },
    ],
  };
}
