#!/usr/bin/env bash
# A validator's system clock is stepped an hour forward, then two hours back
# (an hour behind), then put right, while the network runs. Deadlines, timers,
# peer silence and RPC waits run on the monotonic clock, so nothing stalls:
# every node keeps committing and answering, and the stepped node neither
# crashes nor refuses the blocks the others commit (a block decided by more
# than 2/3 of the power is not checked against the local clock). The step is
# made with libfaketime reading its offset from a file, with the monotonic
# clock left alone, as a real clock step leaves it.
set -u
. "$(dirname "$0")/lib.sh"

FAKETIME_LIB=$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -1)
if [ -z "$FAKETIME_LIB" ]; then
    echo "SKIP: libfaketime not installed (Debian package faketime)"
    finish
    exit 0
fi

BASE=$(e2e_base_port)
NET=$E2E_DIR/net
STEPPED=3
OFFSET=$E2E_DIR/offset
url() { echo "http://127.0.0.1:$((BASE + $1))"; }
home() { echo "$NET/node$1"; }

start_devnet "$NET" 4 "$BASE"
check "four validators start and commit height 2" wait_for 30 all_at_least 2 0 1 2 3

# The stepped node runs by hand under libfaketime from here on.
stop_node "$(home $STEPPED)"
echo "+0" >"$OFFSET"
LD_PRELOAD=$FAKETIME_LIB FAKETIME_TIMESTAMP_FILE=$OFFSET FAKETIME_CACHE_DURATION=1 \
    FAKETIME_DONT_FAKE_MONOTONIC=1 "$GZ" node --home "$(home $STEPPED)" >>"$(home $STEPPED)/node.log" 2>&1 &
E2E_PIDS+=($!)
disown $!
check "the node comes back under libfaketime" wait_for 20 height_at_least "$(url $STEPPED)" 3

# status_fast URL: the node answers status within 1 s.
status_fast() { curl -s -m 1 -X POST -H 'Content-Type: application/json' \
    --data '{"jsonrpc":"2.0","id":1,"method":"status","params":{}}' "$1/rpc" | jq -e .result.height >/dev/null; }
all_fast() { local i; for i in 0 1 2 3; do status_fast "$(url "$i")" || return 1; done; }
node_wall() { rpc "$(url $STEPPED)" status '{}' | jq -r .result.time; }

# A tx that is admitted and never commits (its nonce is ahead, within the
# mempool's window of 64 above the registrar's nonce, which stays 0 here), for
# submit_tx_commit waits that must run out on time whatever the clock does.
NONCE=40
waiting_tx() {
    "$GZ" tx anchor --artifact "$(printf '%064x' "$NONCE")" --kind 1 --work clock \
        --key "$NET/keys/registrar.key" --print --chain-id gongzhi-devnet --nonce "$NONCE" | jq -r .tx
}
# wait_probe OUT: a 5 s submit_tx_commit wait on the stepped node; writes how
# many ms the answer took and its error code to OUT.
wait_probe() {
    local tx t0 body
    tx=$(waiting_tx)
    t0=$(date +%s%N) # this shell's clock is not stepped
    body=$(curl -s -m 60 -X POST -H 'Content-Type: application/json' --data \
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"submit_tx_commit\",\"params\":{\"tx\":\"$tx\",\"timeout_ms\":5000}}" \
        "$(url $STEPPED)/rpc")
    echo "$((($(date +%s%N) - t0) / 1000000)) $(jq -r '.error.code // "none"' <<<"$body")" >"$1"
}

# step LABEL OFFSET: a 5 s submit_tx_commit wait is started, the offset is
# set 1 s into it, then for 12 s every node must keep answering within 1 s;
# the wait must have run out after 5 s (not at once, not an hour later), and
# all four nodes must have gained heights.
step() {
    local label=$1 start gained=1 i ms code
    start=$(min_height 0 1 2 3)
    NONCE=$((NONCE + 1)) # here, not in the probe's subshell
    wait_probe "$E2E_DIR/probe" &
    local probe=$!
    sleep 1
    echo "$2" >"$OFFSET"
    for _ in $(seq 12); do
        all_fast || { fail "$label: a node took over 1 s to answer status"; return; }
        sleep 1
    done
    ok "$label: every node answered status within 1 s for 12 s"
    wait "$probe"
    read -r ms code <"$E2E_DIR/probe"
    check "$label: a 5 s submit_tx_commit wait ran out after 5 s (${ms} ms, code $code)" \
        test "$code" = -32002 -a "$ms" -ge 4500 -a "$ms" -le 8000
    for i in 0 1 2 3; do height_at_least "$(url "$i")" $((start + 3)) || gained=0; done
    check "$label: all four nodes gained at least 3 heights (from $start)" test "$gained" -eq 1
    check "$label: the stepped node is still running" test -n "$(node_pid "$(home $STEPPED)")"
}

step "clock an hour ahead" "+1h"
step "clock an hour behind" "-1h"
step "clock put right" "+0"

h=$(min_height 0 1 2 3)
check "all four agree on every block 1..$h" agree "$h" 0 1 2 3
check "the stepped node's log shows no FATAL stop" bash -c "! grep -q FATAL '$(home $STEPPED)/node.log'"
e2e_stop_all
check "the node logs hold no sanitizer report or failed assertion" logs_clean "$NET"/node*/node.log
finish
