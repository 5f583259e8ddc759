# Shared helpers for the end-to-end tests: each test sources this, starts its
# own network in a temporary directory on its own ports, and stops every
# process it started on exit.

GZ=${1:?usage: $0 PATH_TO_GONGZHI}
GZ=$(cd "$(dirname "$GZ")" && pwd)/$(basename "$GZ")
E2E_NAME=$(basename "$0" .sh)
E2E_DIR=$(mktemp -d "/tmp/gz-$E2E_NAME.XXXXXX")
E2E_PASS=0
E2E_FAIL=0
E2E_PIDS=()

e2e_cleanup() {
    for pid in "${E2E_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    for pid in "${E2E_PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null
    done
    if [ "$E2E_FAIL" -ne 0 ]; then
        echo "--- logs kept in $E2E_DIR"
        for f in "$E2E_DIR"/*/node*/node.log; do [ -f "$f" ] && { echo "--- $f (tail)"; tail -15 "$f"; }; done
    else
        rm -rf "$E2E_DIR"
    fi
}
trap e2e_cleanup EXIT

ok() { E2E_PASS=$((E2E_PASS + 1)); echo "ok   $*"; }
fail() { E2E_FAIL=$((E2E_FAIL + 1)); echo "FAIL $*"; }
check() { # check "description" command...
    local what=$1; shift
    if "$@"; then ok "$what"; else fail "$what"; fi
}
finish() {
    echo "$E2E_NAME: $E2E_PASS passed, $E2E_FAIL failed"
    [ "$E2E_FAIL" -eq 0 ]
}

# A base port unlikely to collide between tests running one after another.
e2e_base_port() { echo $((30000 + (RANDOM % 300) * 100)); }

# rpc URL METHOD JSON_PARAMS -> prints the raw JSON-RPC response body
rpc() {
    curl -s -m 10 -X POST -H 'Content-Type: application/json' \
        --data "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$2\",\"params\":$3}" "$1/rpc"
}

# wait_for SECONDS COMMAND... : retries the command until it succeeds.
wait_for() {
    local t=$1; shift
    for _ in $(seq $((t * 10))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
    return 1
}

height_of() { rpc "$1" status '{}' | jq -r '.result.height // empty'; }
height_at_least() { local h; h=$(height_of "$1"); [ -n "$h" ] && [ "$h" -ge "$2" ]; }

# start_devnet DIR N BASE: runs `gongzhi devnet` in the background.
start_devnet() {
    "$GZ" devnet --dir "$1" --validators "$2" --base-port "$3" >"$1.out" 2>&1 &
    E2E_PIDS+=($!)
    DEVNET_PID=$!
}
