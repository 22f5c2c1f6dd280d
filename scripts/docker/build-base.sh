#!/usr/bin/env bash
# Build the local base image every e2e substitute image starts FROM (no registry here):
# debootstrap --variant=minbase bookworm from deb.debian.org, apt sources for bookworm,
# bookworm-updates and bookworm-security, upgraded, cleaned, then `docker import`.
#
#   scripts/docker/build-base.sh [--force] [--tag local/debian:bookworm]
#
# Cached twice: skipped when the tag exists; the finished root filesystem is kept as a
# tarball in $WHARF_CACHE_DIR (default ~/.cache/wharf) so a re-import takes seconds.
# --force rebuilds both from scratch.
#
# Environment: WHARF_DEBIAN_MIRROR (default http://deb.debian.org/debian),
#              WHARF_SECURITY_MIRROR (default http://security.debian.org/debian-security).
set -euo pipefail

log() { printf '[build-base] %s\n' "$*"; }
die() { printf '[build-base] ERROR: %s\n' "$*" >&2; exit 1; }

TAG=local/debian:bookworm
FORCE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --force) FORCE=1 ;;
    --tag) TAG=${2:?--tag needs a value}; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) die "unknown argument: $1" ;;
  esac
  shift
done

SUITE=bookworm
MIRROR=${WHARF_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY=${WHARF_SECURITY_MIRROR:-http://security.debian.org/debian-security}
CACHE_DIR=${WHARF_CACHE_DIR:-$HOME/.cache/wharf}
TARBALL="$CACHE_DIR/debian-$SUITE-minbase-rootfs.tar"

[ "$(id -u)" = 0 ] || die "debootstrap needs root"
docker info >/dev/null 2>&1 || die "docker is not answering: run scripts/docker/ensure-engine.sh first"

if [ "$FORCE" = 0 ] && docker image inspect "$TAG" >/dev/null 2>&1; then
  log "$TAG exists ($(docker image inspect -f '{{.Id}}' "$TAG" | cut -c1-19), created $(docker image inspect -f '{{.Created}}' "$TAG")): skipping (use --force to rebuild)"
  exit 0
fi

start=$(date +%s)
if [ "$FORCE" = 1 ] || [ ! -s "$TARBALL" ]; then
  command -v debootstrap >/dev/null 2>&1 || {
    log "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends debootstrap || die "apt-get install debootstrap failed"
  }
  # The security suite: say plainly when it cannot be reached, then carry on without it.
  if curl -fsS -m 15 -o /dev/null "$SECURITY/dists/$SUITE-security/InRelease" 2>/dev/null \
     || wget -q -T 15 -O /dev/null "$SECURITY/dists/$SUITE-security/InRelease" 2>/dev/null; then
    log "security suite reachable: $SECURITY $SUITE-security"
    HAVE_SECURITY=1
  else
    log "WARNING: $SECURITY/dists/$SUITE-security is NOT reachable: the base gets no security updates"
    HAVE_SECURITY=0
  fi

  root=$(mktemp -d /tmp/wharf-rootfs.XXXXXX)
  chmod 0755 "$root"   # mktemp gives 0700; this becomes the image's "/" (non-root users must traverse it)
  cleanup() {
    mountpoint -q "$root/proc" && umount "$root/proc" || true
    rm -rf --one-file-system "$root"
  }
  trap cleanup EXIT

  log "debootstrap --variant=minbase $SUITE $root $MIRROR (takes a minute or two)"
  debootstrap --variant=minbase "$SUITE" "$root" "$MIRROR" >"$root.debootstrap.log" 2>&1 \
    || { tail -n 30 "$root.debootstrap.log" >&2; die "debootstrap failed (full log: $root.debootstrap.log)"; }
  rm -f "$root.debootstrap.log"

  {
    echo "deb $MIRROR $SUITE main"
    echo "deb $MIRROR $SUITE-updates main"
    [ "$HAVE_SECURITY" = 1 ] && echo "deb $SECURITY $SUITE-security main"
  } >"$root/etc/apt/sources.list"

  # Like the official debian:*-slim images: no docs/man/locales, no apt caches, no recommends.
  cat >"$root/etc/dpkg/dpkg.cfg.d/docker-slim" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
CFG
  cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'CFG'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CFG
  cat >"$root/etc/apt/apt.conf.d/docker-no-recommends" <<'CFG'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
CFG
  # Services must not start inside a build.
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"; chmod 0755 "$root/usr/sbin/policy-rc.d"

  log "apt-get update && upgrade inside the new root (bookworm-updates + security)"
  mount -t proc proc "$root/proc"
  chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
    sh -ec 'apt-get update -qq && apt-get -y -qq -o Dpkg::Options::=--force-confold dist-upgrade && apt-get clean' \
    >"$root.upgrade.log" 2>&1 || { tail -n 30 "$root.upgrade.log" >&2; die "apt-get upgrade in the root failed (log: $root.upgrade.log)"; }
  log "upgraded: $(grep -c '^Unpacking' "$root.upgrade.log" || true) package(s) from updates/security"
  rm -f "$root.upgrade.log"
  umount "$root/proc"
  # Drop docs and translations debootstrap already unpacked (before the excludes existed),
  # apt lists and caches.
  find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
  find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf '{}' + 2>/dev/null || true
  rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/var/lib/apt/lists/* \
         "$root"/var/cache/apt/* "$root"/var/log/*.log "$root"/var/log/apt/* "$root"/tmp/* 2>/dev/null || true
  : >"$root/etc/machine-id" 2>/dev/null || true

  mkdir -p "$CACHE_DIR"
  tar --numeric-owner --xattrs -C "$root" -cf "$TARBALL.tmp" . && mv "$TARBALL.tmp" "$TARBALL"
  log "root filesystem cached: $TARBALL ($(du -h "$TARBALL" | cut -f1))"
else
  log "re-using cached root filesystem $TARBALL"
fi

log "docker import -> $TAG"
docker import \
  -c 'CMD ["bash"]' \
  -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  -c 'ENV LANG=C.UTF-8' \
  -m "debootstrap --variant=minbase $SUITE $MIRROR (+updates, +security)" \
  "$TARBALL" "$TAG" >/dev/null || die "docker import failed"
log "$TAG built in $(( $(date +%s) - start ))s: $(docker image inspect -f '{{.Id}}' "$TAG" | cut -c1-19), $(docker image inspect -f '{{.Size}}' "$TAG" | awk '{printf "%.0f MB", $1/1e6}')"
