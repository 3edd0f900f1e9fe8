#!/usr/bin/env bash
# Bounded schemathesis fuzz run of openapi.yaml against a throwaway server (a few minutes).
#
#   scripts/fuzz.sh [PATH_TO_TASKDISPATCH]    (or TASKDISPATCH_BIN; default .build/debug/taskdispatch)
#
# Starts the given server binary on a free 127.0.0.1 port over its own embedded PostgreSQL
# cluster in a new temporary folder (run as the postgres account when root, as the server
# does), seeds it (a user with an app password, an ExApp with its secret, providers, some
# tasks and files), then fuzzes the v2 operations in three passes: as the user (Bearer app
# password), as the ExApp acting for that user (AppAPI headers, base64("fuzzer:" + secret)),
# and as the ExApp acting for no user (base64(":" + secret), on the routes where that
# differs). Fails (exit 1) on any 5xx; on any response whose body, status code, content type
# or documented headers do not match openapi.yaml; if the server dies; or if it logs an
# error. Everything it started is stopped and its folder deleted on exit. Needs python3 with
# venv and network access to PyPI on the first run (schemathesis goes to .build/venv-fuzz).
#
# Settings (environment):
#   FUZZ_MAX_EXAMPLES  test cases per operation and phase (default 25)
#   FUZZ_MAX_TIME      wall-clock fuzzing budget in seconds (default 180), shared 3:4:2 by the passes
#   FUZZ_SEED          hypothesis seed (default 1, reproducible; "random" for a new one each run)
#   FUZZ_PASSES        which passes to run (default "user exapp nouser")
#   FUZZ_PHASES        schemathesis phases (default examples,coverage,fuzzing,stateful)
#   FUZZ_SPEC          the OpenAPI document to check against (default openapi.yaml)
#   FUZZ_KEEP          set to 1 to keep the temporary folder (server log, schemathesis output)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

binary=${1:-${TASKDISPATCH_BIN:-.build/debug/taskdispatch}}
[[ -x $binary ]] || { echo "fuzz: no executable taskdispatch at '$binary' (give its path as the argument or TASKDISPATCH_BIN)" >&2; exit 2; }
binary=$(cd "$(dirname "$binary")" && pwd)/$(basename "$binary")
max_examples=${FUZZ_MAX_EXAMPLES:-25}
max_time=${FUZZ_MAX_TIME:-180}
seed=${FUZZ_SEED:-1}
spec=$(cd "$(dirname "${FUZZ_SPEC:-openapi.yaml}")" && pwd)/$(basename "${FUZZ_SPEC:-openapi.yaml}")
passes=${FUZZ_PASSES:-user exapp nouser}

# schemathesis, pinned, installed with pip as scripts/test.sh installs its Python tools, but in
# a virtual environment of its own: schemathesis needs requests with the real urllib3, while
# nc-py-api (installed into .build/venv by scripts/test.sh) pulls in urllib3-future, which
# replaces the files of the `urllib3` package and breaks requests ("'TrafficPolice' object has
# no attribute 'keys'").
venv=.build/venv-fuzz
schemathesis_version=4.32.5
if [[ ! -x $venv/bin/python3 ]]; then
    python3 -m venv "$venv"
fi
if ! "$venv/bin/python3" -c "import importlib.metadata as m, sys; sys.exit(m.version('schemathesis') != '$schemathesis_version')" 2>/dev/null; then
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$schemathesis_version"
fi

# 0755: as root the embedded cluster runs as the postgres account, which must enter the folder.
work=$(mktemp -d "${TMPDIR:-/tmp}/taskdispatch-fuzz.XXXXXX")
chmod 755 "$work"
server_pid=
cleanup() {
    local status=$?
    if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$server_pid" 2>/dev/null || true
    fi
    # The server stops the cluster it started; after a crash, stop it here.
    if [[ -f $work/pg/pgdata/postmaster.pid ]]; then
        local pg_ctl
        pg_ctl=$(ls -d /usr/lib/postgresql/*/bin/pg_ctl 2>/dev/null | sort -V | tail -n 1)
        [[ -n ${PG_BINDIR:-} ]] && pg_ctl=$PG_BINDIR/pg_ctl
        if [[ -n $pg_ctl ]]; then
            if [[ $(id -u) -eq 0 ]]; then
                runuser -u postgres -- "$pg_ctl" stop -D "$work/pg/pgdata" -m immediate >/dev/null 2>&1 || true
            else
                "$pg_ctl" stop -D "$work/pg/pgdata" -m immediate >/dev/null 2>&1 || true
            fi
        fi
    fi
    if [[ ${FUZZ_KEEP:-0} == 1 ]]; then
        echo "fuzz: kept $work"
    else
        rm -rf "$work"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log=$work/server.log
# Webhooks: private targets are allowed only because the hooks point every generated
# webhookUri at 127.0.0.1 on a closed port; nothing else is ever called. Long polls are
# capped at 1 s so that a generated `wait` costs little.
"$binary" serve --host 127.0.0.1 --port 0 --data-dir "$work/pg" \
    --max-wait-seconds 1 --webhook-allow-private-targets --webhook-timeout-seconds 2 \
    --webhook-max-attempts 2 --webhook-retry-base-seconds 1 --webhook-retry-max-seconds 2 \
    --schedule-rate-limit 1000 >"$log" 2>&1 &
server_pid=$!
port=
for _ in $(seq 1 600); do
    port=$(sed -n 's|^TaskDispatch .* listening on http://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$log")
    [[ -n $port ]] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.2
done
if [[ -z $port ]]; then
    echo "fuzz: the server did not start; its log:" >&2
    cat "$log" >&2
    exit 1
fi
base=http://127.0.0.1:$port
echo "fuzz: server (pid $server_pid) on $base, folder $work"

# The administration commands use the running server's cluster.
admin() { "$binary" "$@" --data-dir "$work/pg" --log-level warning; }
password=$(admin user add fuzzer --admin | sed -n 's/^app password (shown once): //p') || true
secret=$(admin app add fuzz_worker | sed -n 's/^secret (shown once): //p') || true
[[ -n $password && -n $secret ]] || { echo "fuzz: could not create the user or the ExApp" >&2; exit 1; }
# Owned by the administrator, so the fuzzed ExApp cannot remove them. `llm2:text2text` is the
# provider id openapi.yaml's examples use, so the example claims find tasks.
providers=(llm2:text2text=core:text2text fuzz_summary=core:text2text:summary fuzz_audio=core:audio2text fuzz_image=core:text2image)
for provider in "${providers[@]}"; do
    admin provider add "${provider%%=*}" --type "${provider#*=}" >/dev/null
done
"$venv/bin/python3" scripts/fuzz/seed.py "$base" "$password" fuzz_worker "$secret" fuzzer "$work/seed.json" "${providers[@]}"

seed_args=()
if [[ $seed == random ]]; then seed_args=(); else seed_args=(--seed "$seed"); fi
run_pass() {
    local name=$1 seconds=$2
    shift 2
    ((seconds >= 1)) || seconds=1
    echo
    echo "================ fuzz pass: $name ================"
    (
        cd "$work"
        SCHEMATHESIS_HOOKS=$repo/scripts/fuzz/hooks.py FUZZ_SEED_FILE=$work/seed.json FUZZ_STATUSES=$work/statuses-$name.json \
            timeout --kill-after=30 $((seconds + 180)) "$repo/$venv/bin/st" run "$spec" \
            --url "$base" \
            --header 'OCS-APIRequest: true' "$@" \
            --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance,response_headers_conformance \
            --phases "${FUZZ_PHASES:-examples,coverage,fuzzing,stateful}" \
            --max-examples "$max_examples" --max-time "$seconds" "${seed_args[@]}" \
            --workers 1 --request-timeout 10 --no-color \
            --generation-with-security-parameters false --generation-database none \
            --suppress-health-check all
    ) 2>&1 | tee "$work/st-$name.txt"
    return "${PIPESTATUS[0]}"
}

started=$SECONDS
failed=()
app_headers=(--header 'EX-APP-ID: fuzz_worker' --header 'EX-APP-VERSION: 1.0')
# Only v2 operations are fuzzed (AppAPI and capabilities included): v1 answers errors, 5xx
# included, with HTTP 200 and the status only in meta.statuscode, and its response schemas are
# oneOf(success, error), so neither not_a_server_error nor the schema check could catch anything
# there that the v2 operation of the same route does not. Every v1 operationId ends in V1.
# (schemathesis requires all exclude options of a run to match at once, not any one of them,
# so the user pass says everything in one operation-id regex.)
v1='^/ocs/v1\.php/'
# Operations only ExApps may call: a user gets 403 from all of them, so the user pass skips them.
exapp_only='consumer.*|getNextTask.*|reportTask.*|uploadTaskFile|getProviderTaskFile|registerProvider|unregisterProvider'
for pass in $passes; do
    case $pass in
        user)
            run_pass user $((max_time * 3 / 9)) --header "Authorization: Bearer $password" \
                --exclude-operation-id-regex "V1\$|^($exapp_only)\$" || failed+=("user pass")
            ;;
        exapp)
            # The ExApp acting for the user: every operation (admin/status answers it 403).
            run_pass exapp $((max_time * 4 / 9)) "${app_headers[@]}" \
                --header "AUTHORIZATION-APP-API: $(printf 'fuzzer:%s' "$secret" | base64 | tr -d '\n')" \
                --exclude-path-regex "$v1" || failed+=("ExApp pass")
            ;;
        nouser)
            # The ExApp acting for no user: the routes where that differs (tasks owned by the
            # app alone, userId null), uploads, and the ExApp-only task type list.
            run_pass nouser $((max_time * 2 / 9)) "${app_headers[@]}" \
                --header "AUTHORIZATION-APP-API: $(printf ':%s' "$secret" | base64 | tr -d '\n')" \
                --include-operation-id-regex '^(consumer.*|uploadInputFile)$' --exclude-path-regex "$v1" \
                || failed+=("ExApp (no user) pass")
            ;;
        *) echo "fuzz: unknown pass '$pass' in FUZZ_PASSES" >&2; exit 2 ;;
    esac
done

kill -0 "$server_pid" 2>/dev/null || failed+=("server died")
server_errors=$(grep -E '^[^ ]+ (error|critical) ' "$log" || true)
[[ -z $server_errors ]] || failed+=("server logged errors")

echo
echo "================ fuzz summary ($((SECONDS - started)) s of fuzzing) ================"
for name in $passes; do
    printf '%-8s' "$name:"
    grep -E '^Test cases:' -A1 "$work/st-$name.txt" | tail -n 1 | sed 's/^ *//' || true
    grep -E '^  (❌|🚫) ' "$work/st-$name.txt" | grep -v -E ' (Examples|Coverage|Fuzzing|Stateful)$' | sed 's/^ */        /' || true
    # The operations with failures or errors, as schemathesis heads them.
    sed -n 's/^_\{3,\} \([A-Z]\{3,7\} \/[^ ]*\) _\{3,\}$/          at \1/p' "$work/st-$name.txt" | sort -u
    # How deep it got: operations that never answered 2xx in this pass (not a failure).
    "$venv/bin/python3" - "$work/statuses-$name.json" <<'PY' || true
import collections, json, os, sys
if not os.path.exists(sys.argv[1]):
    sys.exit()
answers = collections.defaultdict(set)
for label, status, _ in json.load(open(sys.argv[1])):
    answers[label].add(status)
never = sorted(label for label, statuses in answers.items() if not any(200 <= s < 300 for s in statuses))
print(f"        {len(answers)} operations called" + ("; never 2xx: " + ", ".join(never) if never else ", each answered 2xx"))
PY
done
if [[ -n $server_errors ]]; then
    echo "server log errors:"
    echo "$server_errors" | head -n 40
fi
if ((${#failed[@]})); then
    echo "FUZZ FAILED: ${failed[*]} (server log and schemathesis output: rerun with FUZZ_KEEP=1)"
    exit 1
fi
echo "fuzz passed"
