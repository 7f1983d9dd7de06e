#!/usr/bin/env bash
# The WIT contract lives in wit/ at the workspace root (the single source of
# truth). Each crate that generates bindings from it carries its own copy in
# <crate>/wit/, so the crate can be packaged and published on its own.
#
#   scripts/sync-wit.sh           copy wit/ (its *.wit files, and any deps/)
#                                 into every crate's wit/, replacing it
#   scripts/sync-wit.sh --check   change nothing; print a diff and exit 1 if
#                                 any copy differs from (or lacks) the source
set -euo pipefail
cd "$(dirname "$0")/.."

# Crates whose bindings are generated from the WIT (`path: "wit"`).
CRATES=(crates/camel-component-wasm crates/camel-wasm-sdk)

check=false
case "${1:-}" in
    "") ;;
    --check) check=true ;;
    *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

shopt -s nullglob
sources=(wit/*.wit)
if [ ${#sources[@]} -eq 0 ]; then
    echo "no wit/*.wit at the workspace root" >&2
    exit 2
fi

status=0
for crate in "${CRATES[@]}"; do
    if $check; then
        # -r over the directories also reports files only in one of them.
        if ! diff -ru wit "$crate/wit"; then
            echo "error: $crate/wit differs from wit/; run scripts/sync-wit.sh" >&2
            status=1
        fi
    else
        # Replace the whole copy, so files removed from wit/ go too.
        rm -rf "$crate/wit"
        cp -R wit "$crate/wit"
        echo "synced $crate/wit"
    fi
done
exit $status
