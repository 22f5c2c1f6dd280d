// preflight.yml: read-only probes run from every node; src/ops/preflight.ts turns the
// per-task results (Ansible's json callback) into checks. Task names are the contract.
export const PREFLIGHT_TASKS = {
  handshakes: 'Read WireGuard handshakes',
  ping: 'Ping every peer over wg0 with a full-MTU packet that may not fragment',
  ports: 'Connect to the cluster TCP ports of every peer over wg0',
  clock: 'Read the clock',
  docker: 'Read the Docker Engine version',
} as const;



export const preflightPlaybook = [{
  name: 'Preflight every node',
  hosts: 'all',
  become: true,
  gather_facts: false,
  vars: {
    peers: "{{ groups['all'] | difference([inventory_hostname]) }}",
    manager_peers: "{{ groups['managers'] | difference([inventory_hostname]) }}",
  },
  tasks: [
    {
      name: PREFLIGHT_TASKS.handshakes,
      'ansible.builtin.command': { argv: ['wg', 'show', 'wg0', 'latest-handshakes'] },
      register: 'wg_handshakes', changed_when: false, failed_when: false,
    },
    {
      // ICMP payload = MTU - 20 (IPv4) - 8 (ICMP); -M do sets DF, so a smaller path MTU fails here
      name: PREFLIGHT_TASKS.ping,
      'ansible.builtin.command': { argv: ['ping', '-c', '1', '-W', '2', '-M', 'do', '-s', '{{ wg_mtu - 28 }}', '-I', 'wg0', '{{ hostvars[item].wg_address }}'] },
      loop: '{{ peers }}', register: 'wg_ping', changed_when: false, failed_when: false,
    },
    {
      name: PREFLIGHT_TASKS.ports,
      'ansible.builtin.wait_for': { host: '{{ hostvars[item[0]].wg_address }}', port: '{{ item[1] }}', timeout: 3 },
      // 7946 (gossip) on every peer, 2377 (Raft, joins) only where a manager listens
      loop: "{{ peers | product(['7946']) | list + manager_peers | product(['2377']) | list }}",
      register: 'cluster_ports', failed_when: false,
    },
    {
      name: PREFLIGHT_TASKS.clock,
      'ansible.builtin.command': { argv: ['date', '+%s.%N'] },
      register: 'clock', changed_when: false, failed_when: false,
    },
    {
      name: PREFLIGHT_TASKS.docker,
      'community.docker.docker_host_info': {},
      register: 'docker_info', failed_when: false,
    },
  ],
}];
