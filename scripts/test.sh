#!/usr/bin/env bash
# The README's second command: install what is missing and run every test. The tests start
# their own throwaway PostgreSQL cluster (as the postgres user when run as root).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-dependencies.sh --tests

# A private virtual environment holds the OpenAPI validator and the Python packages the tests
# drive the server with, each pinned:
venv=.build/venv
# nc-py-api: the Nextcloud Python client (NcPyApiCompatibilityTests, NcPyApiTriggerTests).
nc_py_api_version=0.30.3
# FastAPI and uvicorn: what nc-py-api's ExApps run under (the trigger test's ExApp).
fastapi_version=0.165.0
uvicorn_version=0.55.0
# prometheus-client's parsers read /metrics in MetricsEndpointTests, as Prometheus would.
prometheus_client_version=0.21.1
# Playwright drives Debian's Chromium (never a downloaded browser) in DashboardBrowserTests.
playwright_version=1.65.3
if [[ ! -x $venv/bin/python3 ]]; then
    python3 -m venv "$venv"
fi
if [[ ! -x $venv/bin/openapi-spec-validator ]]; then
    "$venv/bin/pip" install --quiet --disable-pip-version-check openapi-spec-validator
fi
# Installs package $1 at version $2 unless the venv has exactly that version.
pin() {
    if ! "$venv/bin/python3" -c "import importlib.metadata as m, sys; sys.exit(m.version('$1') != '$2')" 2>/dev/null; then
        "$venv/bin/pip" install --quiet --disable-pip-version-check "$1==$2"
    fi
}
pin nc-py-api "$nc_py_api_version"
pin fastapi "$fastapi_version"
pin uvicorn "$uvicorn_version"
pin prometheus-client "$prometheus_client_version"
pin playwright "$playwright_version"
echo "validating openapi.yaml"
"$venv/bin/openapi-spec-validator" openapi.yaml

swift build --build-tests
# Hostile input first: schemathesis drives openapi.yaml against a real server as a user and as an
# ExApp (bounded to a few minutes); any 5xx or answer off the spec fails the run.
scripts/fuzz.sh .build/debug/taskdispatch
swift test --skip-build 2>&1 | tee .build/test-output.txt
