#!/usr/bin/env bash
# The README's first command: install what is missing, build, run the server on the embedded
# database (or on DATABASE_URL when set). Extra arguments go to `taskdispatch serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-dependencies.sh
swift build -c release --product taskdispatch
exec .build/release/taskdispatch serve "$@"
