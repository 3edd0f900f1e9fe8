#!/usr/bin/env bash
# The README's second command: install what is missing and run every test. The tests start
# their own throwaway PostgreSQL cluster (as the postgres user when run as root).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-dependencies.sh

# The OpenAPI document is checked by a validator in a private virtual environment.
venv=.build/venv
if [[ ! -x $venv/bin/openapi-spec-validator ]]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check openapi-spec-validator
fi
echo "validating openapi.yaml"
"$venv/bin/openapi-spec-validator" openapi.yaml

swift build --build-tests
swift test --skip-build 2>&1 | tee .build/test-output.txt
