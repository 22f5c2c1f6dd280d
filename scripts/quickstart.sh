#!/usr/bin/env bash
# The whole platform from a fresh Debian/Ubuntu machine, in one command:
#   scripts/quickstart.sh [project-dir] [template]
# Installs prerequisites (scripts/install.sh), writes wharf.yaml from a template
# when the directory has none, and runs `wharf up`.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
dir="${1:-$repo/example}"
template="${2:-api}"
"$repo/scripts/install.sh"
mkdir -p "$dir"
cd "$dir"
[ -f wharf.yaml ] || [ -f wharf.config.ts ] || "$repo/bin/wharf.js" init --template "$template"
"$repo/bin/wharf.js" check
exec "$repo/bin/wharf.js" up
