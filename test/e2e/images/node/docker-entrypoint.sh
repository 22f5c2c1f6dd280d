#!/bin/sh
# Same as the official node image's docker-entrypoint.sh.
set -e
# Run node if the first argument is an option (-e, --version), is not a command on PATH,
# or is a non-executable file (a script path like server.js).
if [ "${1#-}" != "${1}" ] || [ -z "$(command -v "${1}")" ] || { [ -f "${1}" ] && ! [ -x "${1}" ]; }; then
  set -- node "$@"
fi
exec "$@"
