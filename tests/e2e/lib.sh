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
E2E_HOOKS=() # commands run on exit after every process is stopped (e2e_on_exit)

# Stops every process the test started (SIGTERM, then SIGKILL after 5 s).
e2e_stop_all() {
    # Nodes started by a devnet of this test (and restarted by hand) run with
    # their home inside E2E_DIR: they are ours, whoever their parent is now.
    local pid
    for pid in $(pgrep -f -- "--home $E2E_DIR/" 2>/dev/null); do E2E_PIDS+=("$pid"); done
    for pid in "${E2E_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; kill -CONT "$pid" 2>/dev/null; done
    for pid in "${E2E_PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null
    done
    E2E_PIDS=()
}

# logs_clean LOG...: no sanitizer report (AddressSanitizer, LeakSanitizer,
# UBSan) and no assertion failure in the logs; call after e2e_stop_all so
# that reports made at exit are in.
logs_clean() { ! grep -E -l "Sanitizer|runtime error:|Assertion .* failed" "$@"; }

e2e_cleanup() {
    e2e_stop_all
    local hook
    for hook in "${E2E_HOOKS[@]}"; do eval "$hook"; done
    if [ -n "${E2E_KEEP:-}" ]; then
        echo "--- E2E_KEEP: logs kept in $E2E_DIR"
    elif [ "$E2E_FAIL" -ne 0 ]; then
        echo "--- logs kept in $E2E_DIR"
        for f in "$E2E_DIR"/*/node*/node.log; do [ -f "$f" ] && { echo "--- $f (tail)"; tail -15 "$f"; }; done
    else
        rm -rf "$E2E_DIR"
    fi
}
trap e2e_cleanup EXIT
# e2e_on_exit "COMMAND": runs COMMAND when the test exits, after its processes.
e2e_on_exit() { E2E_HOOKS+=("$1"); }

# Each result line carries the seconds since the test started.
ok() { E2E_PASS=$((E2E_PASS + 1)); printf 'ok   %3ss %s\n' "$SECONDS" "$*"; }
fail() { E2E_FAIL=$((E2E_FAIL + 1)); printf 'FAIL %3ss %s\n' "$SECONDS" "$*"; }
check() { # check "description" command...
    local what=$1; shift
    if "$@"; then ok "$what"; else fail "$what"; fi
}
finish() {
    echo "$E2E_NAME: $E2E_PASS passed, $E2E_FAIL failed"
    [ "$E2E_FAIL" -eq 0 ]
}

# e2e_base_port: a free base port (tests/e2e/ports.sh).
. "$(dirname "${BASH_SOURCE[0]}")/ports.sh"

# rpc URL METHOD JSON_PARAMS -> prints the raw JSON-RPC response body
rpc() {
    curl -s -m 10 -X POST -H 'Content-Type: application/json' \
        --data "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$2\",\"params\":$3}" "$1/rpc"
}

# wait_for SECONDS COMMAND... : retries the command until it succeeds, for
# at most SECONDS of wall time however long each try takes.
wait_for() {
    local end=$((SECONDS + $1)); shift
    while :; do
        "$@" >/dev/null 2>&1 && return 0
        [ "$SECONDS" -ge "$end" ] && return 1
        sleep 0.1
    done
}

height_of() { rpc "$1" status '{}' | jq -r '.result.height // empty'; }
height_at_least() { local h; h=$(height_of "$1"); [ -n "$h" ] && [ "$h" -ge "$2" ]; }

# start_devnet DIR N BASE: runs `gongzhi devnet` in the background.
start_devnet() {
    "$GZ" devnet --dir "$1" --validators "$2" --base-port "$3" >"$1.out" 2>&1 &
    E2E_PIDS+=($!)
    DEVNET_PID=$!
}

# ---- networks of several validators ------------------------------------------

# rpc_batch URL JSON_ARRAY -> the raw response of one JSON-RPC batch.
rpc_batch() {
    curl -s -m 20 -X POST -H 'Content-Type: application/json' --data-binary @- "$1/rpc" <<<"$2"
}

# sign_anchors KEY WORK TAG FROM TO: anchors of the key with nonces FROM..TO,
# signed offline for the devnet chain (artifact: TAG and the nonce), one
# "txid tx" line each.
sign_anchors() {
    local key=$1 work=$2 tag=$3 k
    for ((k = $4; k <= $5; k++)); do
        "$GZ" tx anchor --artifact "$(printf '%02x%062x' "$tag" "$k")" --kind 1 --work "$work" \
            --key "$key" --print --chain-id gongzhi-devnet --nonce "$k"
    done | jq -r -s '.[] | "\(.txid) \(.tx)"'
}

# The pid of the `gongzhi node` running from HOME (empty when none).
node_pid() { pgrep -f -- "node --home $1\$" | head -1; }

# start_node HOME: runs one node by hand in the background, appending to its
# log like the devnet does; the test's cleanup stops it.
start_node() {
    "$GZ" node --home "$1" >>"$1/node.log" 2>&1 &
    E2E_PIDS+=($!)
    disown $! # its death (kill -9 included) is the test's business, not bash's job report
}

# stop_node HOME [SIGNAL]: stops the node of HOME (default SIGTERM) and waits
# until it is gone, so its ports and data directory are free again.
stop_node() {
    local pid; pid=$(node_pid "$1")
    [ -n "$pid" ] || return 1
    kill -"${2:-TERM}" "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
    return 0
}

# block_ids URL FROM TO -> "height block_id state_root" per line, one batch.
block_ids() {
    local req="[" h
    for ((h = $2; h <= $3; h++)); do
        req+="{\"jsonrpc\":\"2.0\",\"id\":$h,\"method\":\"block\",\"params\":{\"height\":$h}}"
        [ "$h" -lt "$3" ] && req+=","
    done
    req+="]"
    rpc_batch "$1" "$req" | jq -r 'sort_by(.id)[] | "\(.id) \(.result.block_id // "none") \(.result.header.state_root // "none")"'
}

# txids_committed URL FILE -> how many of the txids in FILE (one a line) the
# node answers with a committed height, asked in batches.
txids_committed() {
    local n=0 k
    while read -r chunk; do
        k=$(rpc_batch "$1" "$chunk" | jq '[.[] | select(.result.height != null)] | length')
        n=$((n + ${k:-0}))
    done < <(jq -R -c '{jsonrpc: "2.0", id: 1, method: "tx", params: {txid: .}}' "$2" | jq -s -c '_nwise(200)')
    echo "$n"
}

# The helpers below take node indexes; the test defines `url INDEX`.

# all_at_least H NODES...: every listed node has committed height H.
all_at_least() {
    local h=$1 i; shift
    for i in "$@"; do height_at_least "$(url "$i")" "$h" || return 1; done
}
max_height() { # NODES... -> the highest committed height among them
    local m=0 h i
    for i in "$@"; do h=$(height_of "$(url "$i")"); [ -n "$h" ] && [ "$h" -gt "$m" ] && m=$h; done
    echo "$m"
}
min_height() { # NODES... -> the lowest (0 for a node that does not answer)
    local m="" h i
    for i in "$@"; do h=$(height_of "$(url "$i")"); h=${h:-0}; { [ -z "$m" ] || [ "$h" -lt "$m" ]; } && m=$h; done
    echo "${m:-0}"
}
# agree H NODES...: the nodes report the same block id and state root at
# every height 1..H (each must have committed H).
agree() {
    local h=$1 first="" i out; shift
    for i in "$@"; do
        out=$(block_ids "$(url "$i")" 1 "$h") || return 1
        grep -q none <<<"$out" && return 1
        [ "$(wc -l <<<"$out")" -eq "$h" ] || return 1
        if [ -z "$first" ]; then first=$out; elif [ "$out" != "$first" ]; then return 1; fi
    done
}
