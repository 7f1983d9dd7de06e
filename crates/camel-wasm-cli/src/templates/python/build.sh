#!/bin/sh
# Builds plugins/{{name}}.wasm from app.py for the `{{kind}}` world of
# wit/camel-wasm.wit. Needs componentize-py: pip install -r requirements.txt
set -eu
cd "$(dirname "$0")"
if ! command -v componentize-py >/dev/null 2>&1; then
    echo "componentize-py is not installed: pip install -r requirements.txt" >&2
    exit 1
fi
found=$(componentize-py --version)
if [ "$found" != "componentize-py {{componentize_py}}" ]; then
    echo "warning: $found; this project was made for componentize-py {{componentize_py}}" >&2
fi
mkdir -p plugins
# -p . bundles app.py and the helper camel_wasm.py into the component.
PYTHONDONTWRITEBYTECODE=1 componentize-py -d wit -w {{kind}} componentize app -p . \
    -o plugins/{{name}}.wasm
echo "built plugins/{{name}}.wasm"
