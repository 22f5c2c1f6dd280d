// preflight.yml: read-only probes run from every node; src/ops/preflight.ts turns the
// per-task results (Ansible's json callback) into checks. Task names are the contract.
export const PREFLIGHT_TASKS = {
  handshakes: 'Read WireGuard handshakes',
  ping: 'Ping every peer over wg0 with a full-MTU packet that may not fragment',
  ports: 'Connect to the cluster TCP ports of every peer over wg0',
  udpSend: 'Send a datagram to the cluster UDP ports of every peer over wg0',
  udpSeen: "Look for the peers' datagrams in the connection tracking table",
  clock: 'Read the clock',
  docker: 'Read the Docker Engine version',
} as const;

/** The ports nodes must reach each other on over wg0, per orchestrator. */
export const CLUSTER_PORTS = {
  // gossip on every node, Raft and joins on managers; gossip's UDP half and VXLAN (the overlay's data path)
  swarm: { everyTcp: ['7946'], managerTcp: ['2377'], udp: ['7946', '4789'], vxlan: '4789' },
  // kubelet on every node, the API server on servers; flannel's VXLAN
  k3s: { everyTcp: ['10250'], managerTcp: ['6443'], udp: ['8472'], vxlan: '8472' },
} as const;

// A datagram sent alone cannot tell dropped from accepted (nothing answers either way). The
// receiver's conntrack table can: an entry is confirmed only once the packet got through the
// firewall's INPUT rules, so a fresh source port per probe proves a new flow gets in. Scripts
// get every value as an argument; JSON travels base64-encoded (Ansible would turn a templated
// string that looks like a dict into one).
const udpSendScript = `import base64, json, socket, sys
me, peers, ports = sys.argv[1], json.loads(base64.b64decode(sys.argv[2])), sys.argv[3].split(',')
out = {}
for name, addr in sorted(peers.items()):
    for port in ports:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((me, 0))
        for _ in range(3):
            try:
                s.sendto(b'wharf-preflight', (addr, int(port)))
            except OSError:
                pass
        out.setdefault(name, {})[port] = s.getsockname()[1]
        s.close()
print(json.dumps(out))
`;

const udpSeenScript = `import base64, json, subprocess, sys
me, peer, name = sys.argv[1], sys.argv[2], sys.argv[4]
sent = json.loads(base64.b64decode(sys.argv[3]) or b'{}').get(name, {})
if not sent:
    print(json.dumps({'error': 'the peer sent no datagram'}))
    sys.exit(0)
try:
    table = open('/proc/net/nf_conntrack').read()
except OSError:
    try:
        table = subprocess.run(['conntrack', '-L', '-p', 'udp'], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        print(json.dumps({'error': 'no connection tracking table (neither /proc/net/nf_conntrack nor the conntrack tool)'}))
        sys.exit(0)
seen = set()
for line in table.splitlines():
    words = line.split()
    if 'udp' not in words[:3]:
        continue
    t = {}
    for w in words:
        k, eq, v = w.partition('=')
        if eq and k not in t:
            t[k] = v
    if t.get('src') == peer and t.get('dst') == me:
        seen.add((t.get('sport'), t.get('dport')))
print(json.dumps({port: (str(sport), port) in seen for port, sport in sent.items()}))
`;

export function preflightPlaybook(orchestrator: keyof typeof CLUSTER_PORTS) {
  const ports = CLUSTER_PORTS[orchestrator];
  return [
    {
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
          register: 'wg_handshakes',
          changed_when: false,
          failed_when: false,
        },
        {
          // ICMP payload = MTU - 20 (IPv4) - 8 (ICMP); -M do sets DF, so a smaller path MTU fails here
          name: PREFLIGHT_TASKS.ping,
          'ansible.builtin.command': {
            argv: ['ping', '-c', '1', '-W', '2', '-M', 'do', '-s', '{{ wg_mtu - 28 }}', '-I', 'wg0', '{{ hostvars[item].wg_address }}'],
          },
          loop: '{{ peers }}',
          register: 'wg_ping',
          changed_when: false,
          failed_when: false,
        },
        {
          name: PREFLIGHT_TASKS.ports,
          'ansible.builtin.wait_for': { host: '{{ hostvars[item[0]].wg_address }}', port: '{{ item[1] }}', timeout: 3 },
          loop: `{{ peers | product(${JSON.stringify(ports.everyTcp)}) | list + manager_peers | product(${JSON.stringify(ports.managerTcp)}) | list }}`,
          register: 'cluster_ports',
          failed_when: false,
        },
        {
          name: PREFLIGHT_TASKS.udpSend,
          'ansible.builtin.command': {
            argv: [
              'python3',
              '-c',
              udpSendScript,
              '{{ wg_address }}',
              "{{ dict(peers | zip(peers | map('extract', hostvars, 'wg_address'))) | to_json | b64encode }}",
              ports.udp.join(','),
            ],
          },
          register: 'udp_sent',
          changed_when: false,
          failed_when: false,
        },
        {
          // after every node has sent (the linear strategy finishes a task on all hosts first)
          name: PREFLIGHT_TASKS.udpSeen,
          'ansible.builtin.command': {
            argv: [
              'python3',
              '-c',
              udpSeenScript,
              '{{ wg_address }}',
              '{{ hostvars[item].wg_address }}',
              "{{ hostvars[item]['udp_sent']['stdout'] | default('{}') | b64encode }}",
              '{{ inventory_hostname }}',
            ],
          },
          loop: '{{ peers }}',
          register: 'udp_seen',
          changed_when: false,
          failed_when: false,
        },
        {
          name: PREFLIGHT_TASKS.clock,
          'ansible.builtin.command': { argv: ['date', '+%s.%N'] },
          register: 'clock',
          changed_when: false,
          failed_when: false,
        },
        // K3s brings its own containerd: Docker is checked on swarm nodes only
        ...(orchestrator === 'swarm'
          ? [
              {
                name: PREFLIGHT_TASKS.docker,
                'community.docker.docker_host_info': {},
                register: 'docker_info',
                failed_when: false,
              },
            ]
          : []),
      ],
    },
  ];
}
