#!/bin/sh
# npm run lint: every check runs (one failure does not hide the others), then one verdict.
#   eslint (bugs), prettier --check (layout), dependency-cruiser (cycles, layers), check-size (file and line length)
cd "$(dirname "$0")/.." || exit 2
failed=""
run() { name="$1"; shift; printf '[lint] %s\n' "$name"; "$@" || failed="$failed $name"; }
run eslint npx --no-install eslint --cache --cache-location node_modules/.cache/eslint/ .
run prettier npx --no-install prettier --check --log-level warn .
run layers npx --no-install depcruise src test bench --config .dependency-cruiser.cjs --output-type err
run size node scripts/check-size.mjs
if [ -n "$failed" ]; then printf '[lint] failed:%s\n' "$failed" >&2; exit 1; fi
printf '[lint] clean\n'
