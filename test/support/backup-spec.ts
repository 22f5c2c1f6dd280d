// The stack the backup op tests back up and restore: a named volume, a database and a cache, each
// with its schedule, and a web service that uses the two.
export const backupSpec = (name: string, o: { webReplicas?: number } = {}) => `name: ${name}
domain: ${name}.localhost
services:
  files:
    image: example/files:1
    port: 8080
    volumes:
      - name: uploads
        target: /data
        backup: { schedule: "0 * * * *" }
  web: { image: example/web:1, port: 3000${o.webReplicas ? `, replicas: ${o.webReplicas}` : ''}, uses: [db, cache] }
databases:
  db: { engine: postgres, backup: { schedule: "0 3 * * *" } }
caches:
  cache: { engine: redis, persistence: true, backup: { schedule: "@hourly" } }
monitoring: { enabled: false }
`;
