#!/usr/bin/env bash
# Hostile RPC clients against a 4-validator devnet (issue: "any RPC client can
# freeze block building"): (a) ~36,000 txs with nonce 1 from fresh keys, (b) a
# flood of future nonces from one registered signer, (c) one signer trying to
# fill the mempool. During and after: heights keep advancing, honest txs
# commit, every node answers status within 1 s, no node's RSS passes 256 MB,
# and with only junk pending the block rate stays near the empty-block rate
# of a quiet period (empty_block_ms: one block a second or so).
#
# Against the old admission and block building this fails: (a)'s txs were
# admitted and the proposer spun in a full nonce table (status stopped
# answering); (b)'s txs were admitted and counted as "txs available", so
# blocks came back to back; (c)'s were all admitted, up to the 200,000-tx
# bound.
set -u
. "$(dirname "$0")/lib.sh"

BASE=$(e2e_base_port)
NET=$E2E_DIR/net
K=$NET/keys
RSS_MAX_KB=$((256 * 1024))
url() { echo "http://127.0.0.1:$((BASE + $1))"; }
home() { echo "$NET/node$1"; }

start_devnet "$NET" 4 "$BASE"
check "four validators start and commit height 2" wait_for 30 all_at_least 2 0 1 2 3

status_fast() { curl -s -m 1 -X POST -H 'Content-Type: application/json' \
    --data '{"jsonrpc":"2.0","id":1,"method":"status","params":{}}' "$1/rpc" | jq -e .result.height >/dev/null; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$(node_pid "$(home "$1")")/status" 2>/dev/null || echo 0; }
mempool_txs() { rpc "$(url "$1")" status '{}' | jq -r '.result.mempool_txs // -1'; }

# A monitor samples every node once a second until told to stop: a status
# slower than 1 s, or an RSS over the bound, is written down.
: >"$E2E_DIR/monitor"
monitor() {
    local i kb
    while [ ! -e "$E2E_DIR/stop-monitor" ]; do
        for i in 0 1 2 3; do
            status_fast "$(url "$i")" || echo "$SECONDS node$i: status took over 1 s" >>"$E2E_DIR/monitor"
            kb=$(rss_kb "$i")
            [ "${kb:-0}" -le "$RSS_MAX_KB" ] || echo "$SECONDS node$i: RSS $kb kB" >>"$E2E_DIR/monitor"
        done
        sleep 1
    done
}
monitor &
E2E_PIDS+=($!)

# blocks_per_10s: how many heights node0 commits in 10 s.
blocks_per_10s() {
    local h0 h1
    h0=$(height_of "$(url 0)")
    sleep 10
    h1=$(height_of "$(url 0)")
    echo $((${h1:-0} - ${h0:-0}))
}
# honest NODE: an anchor by the governor, submitted to NODE, commits with code 0.
HONEST=0
honest() {
    local out
    HONEST=$((HONEST + 1))
    out=$(timeout 40 "$GZ" tx anchor --artifact "$(printf 'aa%062x' "$HONEST")" --kind 1 --work honest \
        --key "$K/governor.key" --rpc "$(url "$1")" --wait --timeout-ms 30000 2>&1)
    [ "$(jq -r .code <<<"$out" 2>/dev/null)" = 0 ] || { echo "honest tx on node$1: $out"; return 1; }
}
code_count() { jq -r --arg c "$2" '.codes[$c] // 0' <<<"$1"; }

QUIET=$(blocks_per_10s)
check "a quiet period: $QUIET blocks in 10 s (the empty-block rate)" test "$QUIET" -ge 3

# ---- (a) 36,000 txs with nonce 1 from fresh keys ------------------------------------
H=$(min_height 0 1 2 3)
out=$(timeout 300 "$GZ" bench flood --kind fresh --count 36000 --nonce 1 --rpc "$(url 0)")
echo "   (a) $out"
check "(a) every fresh-key tx is refused with code 5 naming body.signer" \
    bash -c '[ "$(jq -r ".codes[\"5\"] // 0" <<<"$1")" = 36000 ] && grep -q "body.signer" <<<"$1"' _ "$out"
check "(a) an honest tx commits after the flood" honest 1
check "(a) all four nodes keep committing past height $((H + 3))" wait_for 30 all_at_least $((H + 3)) 0 1 2 3

# ---- (b) future nonces from a registered signer ----------------------------------------
out=$(timeout 300 "$GZ" bench flood --kind future --count 5000 --key "$K/treasurer.key" --rpc "$(url 1)")
echo "   (b) $out"
check "(b) nonces next+1..next+63 are admitted, the 4937 past the window refused with code 4" \
    test "$(code_count "$out" 0)" = 63 -a "$(code_count "$out" 4)" = 4937
check "(b) the refusal names body.nonce and the window" grep -q 'body.nonce.*window of 64' <<<"$out"
check "(b) the gapped txs are pending on node1 (junk in the mempool)" test "$(mempool_txs 1)" -ge 63
JUNK=$(blocks_per_10s)
check "(b) with only junk pending: $JUNK blocks in 10 s, near the quiet $QUIET" test "$JUNK" -le $((QUIET * 3 / 2 + 2))
check "(b) an honest tx commits with the junk pending" honest 2

# ---- (c) one signer trying to fill the mempool -------------------------------------------
H=$(min_height 0 1 2 3)
out=$(timeout 300 "$GZ" bench flood --kind fill --count 20000 --key "$K/credit_officer.key" --rpc "$(url 2)")
echo "   (c) $out"
# The signer's first 64 get in; then its share is full (code 11). A block that
# commits them meanwhile makes the rest used nonces (code 4).
A=$(code_count "$out" 0)
check "(c) $A of one signer's 20000 txs are admitted (its share: 64, twice if a block commits them)" \
    test "$A" -le 128 -a $((A + $(code_count "$out" 11) + $(code_count "$out" 4))) -eq 20000
check "(c) node2's status counts the refusals by the signer's share" \
    test "$(rpc "$(url 2)" status '{}' | jq -r '.result.mempool.refused_signer // 0')" -ge 1
check "(c) the first refusal is the signer's share, code 11 naming body.signer" \
    grep -q '"first_refusal":"code 11: mempool: body.signer' <<<"$out"
for i in 0 1 2 3; do
    check "(c) node$i holds at most a few hundred txs ($(mempool_txs "$i"))" test "$(mempool_txs "$i")" -le 300
done
check "(c) an honest tx on node3 is admitted and commits (not code 11)" honest 3
check "(c) all four nodes keep committing past height $((H + 3))" wait_for 30 all_at_least $((H + 3)) 0 1 2 3

# ---- after -------------------------------------------------------------------------------------
H=$(max_height 0 1 2 3)
check "after: all four nodes reach height $((H + 5))" wait_for 40 all_at_least $((H + 5)) 0 1 2 3
touch "$E2E_DIR/stop-monitor"
sleep 1.5
check "every node answered status within 1 s throughout ($(wc -l <"$E2E_DIR/monitor") slow samples)" \
    test ! -s "$E2E_DIR/monitor"
[ -s "$E2E_DIR/monitor" ] && head -5 "$E2E_DIR/monitor"
for i in 0 1 2 3; do
    check "node$i RSS $(rss_kb "$i") kB is under 256 MB" test "$(rss_kb "$i")" -le $RSS_MAX_KB
done
h=$(min_height 0 1 2 3)
check "all four agree on every block 1..$h" agree "$h" 0 1 2 3
e2e_stop_all
check "the node logs hold no sanitizer report or failed assertion" logs_clean "$NET"/node*/node.log
finish
