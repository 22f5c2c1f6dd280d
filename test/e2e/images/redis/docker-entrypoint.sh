#!/usr/bin/env bash
# Mirrors the official redis image's docker-entrypoint.sh on Debian's redis-server.
set -Eeo pipefail

# `docker run IMAGE --maxmemory 64mb` or `docker run IMAGE /etc/redis.conf`
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then set -- redis-server "$@"; fi

if [ "$1" = 'redis-server' ] && [ "$(id -u)" = '0' ]; then
  find . \! -user redis -exec chown redis '{}' +
  exec setpriv --reuid=redis --regid=redis --init-groups "${BASH_SOURCE[0]}" "$@"
fi

if [ "$1" = 'redis-server' ]; then
  # The official image is compiled with protected-mode off; Debian's is not. Same default
  # here: off unless the arguments or the given .conf say otherwise.
  has_pm=0
  for a in "$@"; do if [ "$a" = '--protected-mode' ]; then has_pm=1; fi; done
  if [ -n "${2:-}" ] && [ "${2%.conf}" != "$2" ] && [ -f "$2" ]; then
    if grep -qiE '^[[:space:]]*protected-mode' "$2"; then has_pm=1; fi
    if [ "$has_pm" = 0 ]; then set -- "$1" "$2" --protected-mode no "${@:3}"; fi
  elif [ "$has_pm" = 0 ]; then
    set -- "$1" --protected-mode no "${@:2}"
  fi
fi

# Redis writes dumps with the process umask: keep them private, as the official image does.
if [ "$(umask)" = '0022' ]; then umask 0077; fi

exec "$@"
