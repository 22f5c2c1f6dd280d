#!/usr/bin/env bash
# The whole platform from a fresh Debian/Ubuntu machine, in one command:
#   scripts/quickstart.sh [--local-images] [project-dir] [template]
# Installs what wharf needs on this host (scripts/install.sh: Docker Engine, Compose, openssl;
# not the test suite's servers), writes wharf.yaml from a template when the directory has none,
# and runs `wharf up`.
# --local-images: for a machine that reaches no container registry. Builds substitute images
# from Debian packages (scripts/docker/), points the spec's `images:` at them, and swaps what
# has no Debian package (Traefik -> HAProxy; Grafana, cAdvisor off). See README.
# WHARF_SKIP_INSTALL=1 skips scripts/install.sh (prerequisites already there).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
local_images=0
if [ "${1:-}" = "--local-images" ]; then local_images=1; shift; fi
dir="${1:-$repo/example}"
template="${2:-api}"
[ "${WHARF_SKIP_INSTALL:-0}" = 1 ] || "$repo/scripts/install.sh"
mkdir -p "$dir"
cd "$dir"
[ -f wharf.yaml ] || [ -f wharf.config.ts ] || "$repo/bin/wharf.js" init --template "$template"
if [ "$local_images" = 1 ]; then
  [ -f wharf.yaml ] || { echo "quickstart: --local-images edits wharf.yaml; this project has a wharf.config.ts: set images: there" >&2; exit 2; }
  node "$repo/scripts/docker/local-images.mjs" wharf.yaml
fi
"$repo/bin/wharf.js" check
exec "$repo/bin/wharf.js" up
